import type { LogConfig } from '@dtr-cache/config';

type Level = LogConfig['level'];
const SEVERITY: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Structured logging: a lower-case static message plus fields. */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

function logfmtValue(value: unknown): string {
  const text =
    value instanceof Error
      ? value.message
      : typeof value === 'string'
        ? value
        : JSON.stringify(value);
  return /^[^\s"=]+$/.test(text ?? '') ? (text as string) : JSON.stringify(text);
}

/** A logger writing one line per entry to `write` (stderr by default), as text (logfmt) or JSON. */
export function createLogger(
  config: Pick<LogConfig, 'level' | 'formatter' | 'fields'>,
  write: (line: string) => void = (line) => void process.stderr.write(line),
): Logger {
  const log = (level: Level, message: string, fields: Record<string, unknown> = {}) => {
    if (SEVERITY[level] > SEVERITY[config.level]) return;
    const time = new Date().toISOString();
    const entry = { ...config.fields, ...fields };
    if (config.formatter === 'text') {
      // A field without a value is left out, as JSON leaves it out.
      const pairs = Object.entries(entry)
        .filter(([, value]) => value !== undefined)
        .map(([name, value]) => `${name}=${logfmtValue(value)}`);
      write(
        `time=${time} level=${level} msg=${logfmtValue(message)}${pairs.length ? ` ${pairs.join(' ')}` : ''}\n`,
      );
    } else {
      const timeKey = config.formatter === 'logstash' ? '@timestamp' : 'time';
      const serializable = Object.fromEntries(
        Object.entries(entry).map(([name, value]) => [
          name,
          value instanceof Error ? value.message : value,
        ]),
      );
      write(`${JSON.stringify({ [timeKey]: time, level, msg: message, ...serializable })}\n`);
    }
  };
  return {
    error: (message, fields) => log('error', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    info: (message, fields) => log('info', message, fields),
    debug: (message, fields) => log('debug', message, fields),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

function capture(config: Parameters<typeof createLogger>[0]) {
  const lines: string[] = [];
  return { logger: createLogger(config, (line) => lines.push(line)), lines };
}

describe('createLogger', () => {
  it('writes logfmt lines with static and per-entry fields', () => {
    const { logger, lines } = capture({
      level: 'info',
      formatter: 'text',
      fields: { service: 'cache' },
    });
    logger.info('blob served', { repo: 'a/b', cache: 'hit', note: 'two words' });
    expect(lines[0]).toMatch(
      /^time=\S+ level=info msg="blob served" service=cache repo=a\/b cache=hit note="two words"\n$/,
    );
  });

  it('leaves out fields without a value (as JSON does)', () => {
    const { logger, lines } = capture({ level: 'info', formatter: 'text', fields: {} });
    logger.info('request', { status: 200, account: undefined, note: null });
    expect(lines[0]).toMatch(/ msg=request status=200 note=null\n$/);
  });

  it('writes JSON, and logstash JSON with @timestamp', () => {
    const json = capture({ level: 'info', formatter: 'json', fields: {} });
    json.logger.warn('upstream failed', { error: new Error('boom'), status: 502 });
    expect(JSON.parse(json.lines[0] as string)).toMatchObject({
      level: 'warn',
      msg: 'upstream failed',
      error: 'boom',
      status: 502,
    });
    const logstash = capture({ level: 'info', formatter: 'logstash', fields: {} });
    logstash.logger.info('x');
    expect(JSON.parse(logstash.lines[0] as string)).toHaveProperty('@timestamp');
  });

  it('drops entries below the configured level', () => {
    const { logger, lines } = capture({ level: 'warn', formatter: 'text', fields: {} });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((line) => /level=(\w+)/.exec(line)?.[1])).toEqual(['warn', 'error']);
  });
});

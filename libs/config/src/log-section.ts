import { show } from './config-error';
import { booleanFormat, type ConfigFormat, mapOf, oneOf } from './config-format';
import { type ConfigValues, ignored, key } from './config-schema';

const scalarFormat: ConfigFormat<string> = {
  name: 'scalar',
  expected: 'a string, number or boolean',
  parse(value) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return String(value);
    throw new Error(`${show(value)} is not a string, number or boolean`);
  },
};

/** `log`: the registry's logging section. */
export function logSchema() {
  return {
    level: key({
      doc: 'Least severe level logged.',
      format: oneOf('log-level', ['error', 'warn', 'info', 'debug']),
      default: 'info',
    }),
    formatter: key({
      doc: 'Log line format: text (logfmt key=value), json, or logstash (json with @timestamp).',
      format: oneOf('log-formatter', ['text', 'json', 'logstash']),
      default: 'text',
    }),
    fields: key({
      doc: 'Static fields added to every log line.',
      format: mapOf('log-fields', scalarFormat),
      default: {},
    }),
    accesslog: {
      disabled: key({
        doc: 'Turns the one-line-per-request access log off.',
        format: booleanFormat,
        default: false,
      }),
    },
    hooks: ignored(
      'log hooks (mail on panic) are not supported: collect the log stream (stderr) instead',
    ),
  };
}

/** The typed `log` section. */
export interface LogConfig {
  level: 'error' | 'warn' | 'info' | 'debug';
  formatter: 'text' | 'json' | 'logstash';
  fields: Record<string, string>;
  accessLogDisabled: boolean;
}

/** Builds `log`. */
export function buildLogConfig(values: ConfigValues<ReturnType<typeof logSchema>>): LogConfig {
  return {
    level: values.level,
    formatter: values.formatter,
    fields: values.fields,
    accessLogDisabled: values.accesslog.disabled,
  };
}

import { type Cidr, parseCidr } from '@dtr-cache/network';
import { parse as parseYaml } from 'yaml';
import { IssueCollector, show } from './config-error';
import { type Duration, parseDuration } from './formats/duration';
import { parseByteSize } from './formats/byte-size';
import { parseHttpUrl } from './formats/url';
import { type ListenAddress, parseListenAddress } from './formats/listen-address';

/**
 * A value format: how a configured value is checked and turned into its typed form. Formats are
 * registered with convict under `name`; `fromText` converts the text of an environment variable
 * (or a YAML string) into the value `parse` expects.
 */
export interface ConfigFormat<T> {
  readonly name: string;
  /** What a valid value looks like, for generated documentation. */
  readonly expected: string;
  /**
   * Checks a configured value and returns its typed form.
   * @throws Error (the value itself is bad) or ConfigValueError (parts of it are).
   */
  parse(value: unknown): T;
  fromText?(text: string): unknown;
}

/** Reads an environment variable's text as YAML (JSON is YAML too); unparsable text stays text. */
export function yamlValue(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}

/** A list given in an environment variable: YAML/JSON (`[a, b]`) or comma-separated. */
function listFromText(text: string): unknown {
  const value = yamlValue(text);
  if (Array.isArray(value)) return value;
  return text.trim() === '' ? [] : text.split(',').map((item) => item.trim());
}

export const booleanFormat: ConfigFormat<boolean> = {
  name: 'boolean',
  expected: 'true or false',
  parse(value) {
    if (typeof value !== 'boolean')
      throw new Error(`${show(value)} is not a boolean (use true or false)`);
    return value;
  },
  fromText: (text) =>
    /^(true|false)$/i.test(text.trim()) ? text.trim().toLowerCase() === 'true' : text,
};

export const stringFormat: ConfigFormat<string> = {
  name: 'string',
  expected: 'a string',
  parse(value) {
    if (typeof value !== 'string') throw new Error(`${show(value)} is not a string`);
    return value;
  },
};

export const absolutePathFormat: ConfigFormat<string> = {
  name: 'absolute-path',
  expected: 'an absolute file system path',
  parse(value) {
    if (typeof value !== 'string' || !value.startsWith('/')) {
      throw new Error(`${show(value)} is not an absolute path`);
    }
    if (value.includes('\0')) throw new Error(`${show(value)} contains a NUL character`);
    return value;
  },
};

/** A list whose every item has `item`'s format; issues name the index (`[2]`). */
export function listOf<T>(item: ConfigFormat<T>): ConfigFormat<T[]> {
  return {
    name: `list-of-${item.name}`,
    expected: `a list of ${item.expected}`,
    parse(value) {
      if (!Array.isArray(value)) throw new Error(`${show(value)} is not a list`);
      const issues = new IssueCollector();
      const items = value.map((element, index) =>
        issues.attempt(`[${index}]`, () => item.parse(element)),
      );
      issues.throwIfAny();
      return items as T[];
    },
    fromText: listFromText,
  };
}

/** One of a fixed set of strings. */
export function oneOf<const T extends string>(name: string, values: readonly T[]): ConfigFormat<T> {
  return {
    name,
    expected: `one of ${values.join(', ')}`,
    parse(value) {
      if (typeof value !== 'string' || !values.includes(value as T)) {
        throw new Error(`${show(value)} is not one of ${values.join(', ')}`);
      }
      return value as T;
    },
  };
}

/** A whole number from `min` to `max`. */
export function integerFormat(name: string, min: number, max: number): ConfigFormat<number> {
  return {
    name,
    expected: `a whole number from ${min} to ${max}`,
    parse(value) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
        throw new Error(`${show(value)} is not a whole number from ${min} to ${max}`);
      return value;
    },
    fromText: (text) => (/^-?\d+$/.test(text.trim()) ? Number(text) : text),
  };
}

/** A map of strings to `item`'s format (e.g. `log.fields`, `http.headers`). */
export function mapOf<T>(name: string, item: ConfigFormat<T>): ConfigFormat<Record<string, T>> {
  return {
    name,
    expected: `a map of names to ${item.expected}`,
    parse(value) {
      if (value === null || value === undefined) return {};
      if (typeof value !== 'object' || Array.isArray(value))
        throw new Error(`${show(value)} is not a map`);
      const issues = new IssueCollector();
      const result: Record<string, T> = {};
      for (const [entry, element] of Object.entries(value)) {
        const parsed = issues.attempt(`.${entry}`, () => item.parse(element));
        if (parsed !== undefined) result[entry] = parsed;
      }
      issues.throwIfAny();
      return result;
    },
    fromText: yamlValue,
  };
}

export const durationFormat: ConfigFormat<Duration> = {
  name: 'duration',
  expected: 'a positive integer with an optional unit ns, us, ms, s, m or h (no unit: nanoseconds)',
  parse: parseDuration,
  fromText: (text) => (/^\d+$/.test(text.trim()) ? Number(text) : text),
};

export const byteSizeFormat: ConfigFormat<number> = {
  name: 'byte-size',
  expected: 'a byte size such as 500MB or 10GiB',
  parse: parseByteSize,
};

/** An IP range in CIDR notation (`10.20.0.0/16`, `2001:db8::/32`) or a single address. */
export const cidrFormat: ConfigFormat<Cidr> = {
  name: 'cidr',
  expected: 'an IP range in CIDR notation (10.0.0.0/8, 2001:db8::/32) or a single IP address',
  parse(value) {
    if (typeof value !== 'string') throw new Error(`${show(value)} is not a CIDR range`);
    return parseCidr(value);
  },
};

export const httpUrlFormat: ConfigFormat<URL> = {
  name: 'http-url',
  expected: 'an absolute http(s) URL without credentials, query or fragment',
  parse: parseHttpUrl,
};

/** `http.addr` in TCP form; a unix socket path is checked against `http.net` when building. */
export const listenAddressFormat: ConfigFormat<string> = {
  name: 'listen-address',
  expected:
    'a listen address like :5000, 127.0.0.1:5000 or [::1]:5000 (or a socket path with http.net: unix)',
  parse(value) {
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string') throw new Error(`${show(value)} is not a listen address`);
    if (!text.startsWith('/')) parseListenAddress(text);
    return text;
  },
};

export type { Duration, ListenAddress };

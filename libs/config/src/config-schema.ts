import type { ConfigFormat } from './config-format';

/** One configuration key: its documentation, format, default and (optional) explicit env name. */
export class ConfigKey<T> {
  constructor(
    readonly doc: string,
    readonly format: ConfigFormat<T>,
    readonly defaultValue: unknown,
    readonly options: { env?: string; sensitive?: boolean; nullable?: boolean } = {},
  ) {}
}

/** A tree of sections and keys, in the configuration file's shape. */
export interface ConfigSchemaTree {
  readonly [name: string]: ConfigKey<unknown> | ConfigSchemaTree;
}

/** The typed values of a schema tree: each key's parsed value (undefined for unset nullable keys). */
export type ConfigValues<S> = {
  -readonly [K in keyof S]: S[K] extends ConfigKey<infer T>
    ? T | (S[K] extends { options: { nullable: true } } ? undefined : never)
    : ConfigValues<S[K]>;
};

/** Declares a key that always has a value (its default if not configured). */
export function key<T>(definition: {
  doc: string;
  format: ConfigFormat<T>;
  default: unknown;
  env?: string;
  sensitive?: boolean;
}): ConfigKey<T> {
  return new ConfigKey(definition.doc, definition.format, definition.default, {
    ...(definition.env === undefined ? {} : { env: definition.env }),
    ...(definition.sensitive ? { sensitive: true } : {}),
  });
}

/** Declares a key that may be left unset (default null; its typed value is then undefined). */
export function optionalKey<T>(definition: {
  doc: string;
  format: ConfigFormat<T>;
  env?: string;
  sensitive?: boolean;
}): ConfigKey<T> & { options: { nullable: true } } {
  return new ConfigKey(definition.doc, definition.format, null, {
    ...(definition.env === undefined ? {} : { env: definition.env }),
    ...(definition.sensitive ? { sensitive: true } : {}),
    nullable: true,
  }) as ConfigKey<T> & { options: { nullable: true } };
}

/** Every key of a tree with its dotted path, in declaration order. */
export function* schemaKeys(
  tree: ConfigSchemaTree,
  prefix = '',
): Generator<{ path: string; key: ConfigKey<unknown> }> {
  for (const [name, node] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (node instanceof ConfigKey) yield { path, key: node };
    else yield* schemaKeys(node, path);
  }
}

/** The environment variable of a key: explicit, or `<PREFIX>_<PATH>` in the registry's style. */
export function envNameOf(envPrefix: string, path: string, key: ConfigKey<unknown>): string {
  return key.options.env ?? `${envPrefix}_${path.toUpperCase().replace(/\./g, '_')}`;
}

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

/**
 * A key (or a whole section) of a file format this application shares but has no use for:
 * any value is accepted, and its presence gives one start-up warning with `reason`.
 */
export class IgnoredKey {
  constructor(readonly reason: string) {}
}

/**
 * A key (or a whole section) this application refuses because accepting it would silently change
 * what it does: its presence is a configuration error with `reason` (naming what is supported).
 */
export class RefusedKey {
  constructor(readonly reason: string) {}
}

/** A node of a schema tree: a key with a value, an ignored or refused key, or a section. */
export type ConfigSchemaNode = ConfigKey<unknown> | IgnoredKey | RefusedKey | ConfigSchemaTree;

/** A tree of sections and keys, in the configuration file's shape. */
export interface ConfigSchemaTree {
  readonly [name: string]: ConfigSchemaNode;
}

/**
 * The typed values of a schema tree: each key's parsed value (undefined for unset nullable keys);
 * ignored and refused keys have none.
 */
export type ConfigValues<S> = {
  -readonly [
    K in keyof S as S[K] extends IgnoredKey | RefusedKey ? never : K
  ]: S[K] extends ConfigKey<infer T>
    ? T | (S[K] extends { options: { nullable: true } } ? undefined : never)
    : ConfigValues<S[K]>;
};

/** Accepts a key or section of the shared format that does not apply here, with a warning. */
export function ignored(reason: string): IgnoredKey {
  return new IgnoredKey(reason);
}

/** Refuses a key or section of the shared format, with `reason`. */
export function refused(reason: string): RefusedKey {
  return new RefusedKey(reason);
}

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

/** True for a node that is a section (not a key of any kind). */
export function isSection(node: ConfigSchemaNode): node is ConfigSchemaTree {
  return !(node instanceof ConfigKey || node instanceof IgnoredKey || node instanceof RefusedKey);
}

/** Every key of a tree with its dotted path, in declaration order. */
export function* schemaKeys(
  tree: ConfigSchemaTree,
  prefix = '',
): Generator<{ path: string; key: ConfigKey<unknown> }> {
  for (const { path, node } of schemaNodes(tree, prefix))
    if (node instanceof ConfigKey) yield { path, key: node };
}

/** Every key, ignored key and refused key of a tree with its dotted path, in declaration order. */
export function* schemaNodes(
  tree: ConfigSchemaTree,
  prefix = '',
): Generator<{ path: string; node: ConfigKey<unknown> | IgnoredKey | RefusedKey }> {
  for (const [name, node] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (isSection(node)) yield* schemaNodes(node, path);
    else yield { path, node };
  }
}

/** The environment variable of a key: explicit, or `<PREFIX>_<PATH>` in the registry's style. */
export function envNameOf(envPrefix: string, path: string, key: ConfigKey<unknown>): string {
  return key.options.env ?? envNameOfPath(envPrefix, path);
}

/** The registry-style environment variable of a key path: `<PREFIX>_<PATH>`, dots as underscores. */
export function envNameOfPath(envPrefix: string, path: string): string {
  return `${envPrefix}_${path.toUpperCase().replace(/\./g, '_')}`;
}

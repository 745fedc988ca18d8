import { readFileSync } from 'node:fs';
import convict from 'convict';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue, IssueCollector, issuesOf, show } from './config-error';
import type { ConfigFormat } from './config-format';
import { type Described, effectiveNodes } from './config-description';
import { unknownKeyMessage } from './unknown-key-message';
import {
  ConfigKey,
  type ConfigSchemaTree,
  type ConfigValues,
  envNameOf,
  envNameOfPath,
  IgnoredKey,
  RefusedKey,
  schemaKeys,
} from './config-schema';

/** Where configuration comes from. Environment variables override the file. */
export interface ConfigSource {
  /** Path of a YAML configuration file. */
  file?: string;
  /** YAML text, instead of a file (tests, generated configs). */
  text?: string;
  /** Environment variables; `process.env` if omitted. Empty values count as unset. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Passed to a definition's `build` for checks that span several keys. */
export interface BuildContext {
  /** True if `path` was given in the file or the environment (not just defaulted). */
  isSet(path: string): boolean;
  /** Record cross-key problems here; they are reported together. */
  readonly issues: IssueCollector;
  /**
   * Start-up warnings so far: one for each ignored key given (file or environment), and those
   * added with {@link warn}. The definition puts them in its result for the application to log.
   */
  readonly warnings: readonly ConfigIssue[];
  /** Records a warning: a key accepted with no effect, or a deprecated spelling. */
  warn(path: string, message: string): void;
}

/** An application's configuration: its convict schema, env prefix and typed result. */
export interface ConfigDefinition<S extends ConfigSchemaTree, T> {
  /** Prefix of generated environment variable names, e.g. `REGISTRY` or `DTR_API`. */
  readonly envPrefix: string;
  readonly schema: S;
  /**
   * Keys or sections of a shared schema (the registry's `http`, `storage`, `log`) that this
   * application ignores or refuses although the schema honours them, by dotted path.
   */
  readonly overrides?: Readonly<Record<string, IgnoredKey | RefusedKey>>;
  /** Turns the parsed key values into the typed configuration; records cross-key issues. */
  build(values: ConfigValues<S>, context: BuildContext): T;
}

const registeredFormats = new Map<string, ConfigFormat<unknown>>();

function registerFormat(format: ConfigFormat<unknown>): void {
  if (registeredFormats.get(format.name) === format) return;
  registeredFormats.set(format.name, format);
  convict.addFormat({
    name: format.name,
    // Validation is done by loadConfig (structured issues); convict only coerces text.
    validate: () => undefined,
    coerce: (value: unknown) =>
      typeof value === 'string' && format.fromText ? format.fromText(value) : value,
  });
}

function toConvictSchema(
  tree: ConfigSchemaTree,
  envPrefix: string,
  prefix = '',
): Record<string, unknown> {
  const schema: Record<string, unknown> = {};
  for (const [name, node] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (node instanceof IgnoredKey || node instanceof RefusedKey) continue;
    if (node instanceof ConfigKey) {
      registerFormat(node.format);
      schema[name] = {
        doc: node.doc,
        format: node.format.name,
        default: node.defaultValue,
        env: envNameOf(envPrefix, path, node),
        ...(node.options.sensitive ? { sensitive: true } : {}),
        ...(node.options.nullable ? { nullable: true } : {}),
      };
    } else {
      schema[name] = toConvictSchema(node, envPrefix, path);
    }
  }
  return schema;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readDocument(source: ConfigSource): { document: Record<string, unknown>; name: string } {
  const name = source.file ?? 'configuration text';
  let text = source.text ?? '';
  if (source.file !== undefined) {
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ConfigError([
        { path: '', message: `cannot read configuration file ${source.file}: ${code}` },
      ]);
    }
  }
  const lineCounter = new LineCounter();
  const parsed = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (parsed.errors.length > 0) {
    const issues = parsed.errors.map((error) => {
      const position = lineCounter.linePos(error.pos[0]);
      const where = `line ${position.line}, column ${position.col}: `;
      return { path: '', message: `${where}${error.message.split('\n')[0]} (not valid YAML)` };
    });
    throw new ConfigError(issues, name);
  }
  const document: unknown = parsed.toJS({ maxAliasCount: 100 }) ?? {};
  if (!isMapping(document)) {
    throw new ConfigError(
      [{ path: '', message: `the configuration must be a YAML mapping, got ${show(document)}` }],
      name,
    );
  }
  return { document, name };
}

/**
 * Loads, validates and types a configuration: YAML file (or text), then environment overrides,
 * then each key's format, then the definition's cross-key checks.
 * @throws ConfigError listing every problem found (unknown keys, bad values, conflicts), each
 *   naming the key path, the bad value and what is expected; never a partial configuration.
 */
export function loadConfig<S extends ConfigSchemaTree, T>(
  definition: ConfigDefinition<S, T>,
  source: ConfigSource = {},
): T {
  const { document, name } = readDocument(source);
  const env: Record<string, string> = {};
  for (const [variable, value] of Object.entries(source.env ?? process.env)) {
    if (value !== undefined && value !== '') env[variable] = value;
  }
  const convictSchema = toConvictSchema(definition.schema, definition.envPrefix) as convict.Schema<
    Record<string, unknown>
  >;
  const config = convict(convictSchema, { env, args: [] });
  const issues = new IssueCollector();
  const warnings: ConfigIssue[] = [];
  const present = new Set<string>();

  const apply = (raw: Record<string, unknown>, tree: ConfigSchemaTree, prefix: string) => {
    for (const [key, value] of Object.entries(raw)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const node =
        definition.overrides?.[path] ?? (Object.hasOwn(tree, key) ? tree[key] : undefined);
      if (node === undefined) {
        issues.add(path, unknownKeyMessage(key, Object.keys(tree)));
      } else if (node instanceof IgnoredKey) {
        warnings.push({ path, message: `ignored: ${node.reason}` });
      } else if (node instanceof RefusedKey) {
        issues.add(path, `not supported: ${node.reason}`);
      } else if (node instanceof ConfigKey) {
        config.set(path, value);
        present.add(path);
      } else if (value !== null) {
        if (isMapping(value)) apply(value, node, path);
        else
          issues.add(
            path,
            `${show(value)} is not a section (expected keys: ${Object.keys(node).join(', ')})`,
          );
      }
    }
  };
  apply(document, definition.schema, '');
  checkEnvironment(definition, env, issues, warnings);
  config.load({});

  const values: Record<string, unknown> = {};
  const overridden = Object.keys(definition.overrides ?? {});
  for (const { path, key } of schemaKeys(definition.schema)) {
    const envName = envNameOf(definition.envPrefix, path, key);
    // A key this definition ignores or refuses keeps its default: no file or variable sets it.
    const ignoredHere = overridden.some((each) => path === each || path.startsWith(`${each}.`));
    const fromEnv = env[envName] !== undefined && !ignoredHere;
    if (fromEnv) present.add(path);
    const value: unknown = ignoredHere ? key.defaultValue : config.get(path);
    let parsed: unknown;
    if (value === null && key.options.nullable) {
      parsed = undefined;
    } else {
      try {
        parsed = key.format.parse(value);
      } catch (error) {
        const label = fromEnv ? `${path} (from ${envName})` : path;
        for (const issue of issuesOf(error)) {
          const message = key.options.sensitive
            ? `invalid value (not shown, sensitive): expected ${key.format.expected}`
            : issue.message;
          issues.add(label + issue.path, message);
        }
      }
    }
    setPath(values, path, parsed);
  }
  if (issues.issues.length > 0) throw new ConfigError(issues.issues, name);

  const context: BuildContext = {
    isSet: (path) => present.has(path),
    issues: new IssueCollector(),
    warnings,
    warn: (path, message) => warnings.push({ path, message }),
  };
  const result = definition.build(values as ConfigValues<S>, context);
  if (context.issues.issues.length > 0) throw new ConfigError(context.issues.issues, name);
  return result;
}

/**
 * The suffixes of the variables Kubernetes (and Docker links) define for a service: a service
 * named `registry-proxy` defines `REGISTRY_PROXY_PORT`, which names no key of the format.
 */
const SERVICE_LINK_VARIABLE =
  /^_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

/**
 * Ignored and refused keys set through the environment (`<PREFIX>_<PATH>`, or a variable below
 * it): warned about or refused like the same keys in the file, once per key.
 */
function checkEnvironment(
  definition: Described,
  env: Readonly<Record<string, string>>,
  issues: IssueCollector,
  warnings: ConfigIssue[],
): void {
  const variables = Object.keys(env);
  for (const { path, node } of effectiveNodes(definition)) {
    if (node instanceof ConfigKey) continue;
    const name = envNameOfPath(definition.envPrefix, path);
    const variable = variables.find(
      (each) =>
        (each === name || each.startsWith(`${name}_`)) &&
        !SERVICE_LINK_VARIABLE.test(each.slice(name.length)),
    );
    if (variable === undefined) continue;
    const label = `${path} (from ${variable})`;
    if (node instanceof IgnoredKey && !warnings.some((warning) => warning.path === path))
      warnings.push({ path: label, message: `ignored: ${node.reason}` });
    if (node instanceof RefusedKey) issues.add(label, `not supported: ${node.reason}`);
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1) as string] = value;
}

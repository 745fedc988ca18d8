import type { ConfigDefinition } from './config-loader';
import {
  ConfigKey,
  type ConfigSchemaTree,
  envNameOf,
  envNameOfPath,
  IgnoredKey,
  type RefusedKey,
  schemaNodes,
} from './config-schema';

/** One documented key of a definition, for generated references. */
export interface ConfigKeyDescription {
  path: string;
  env: string;
  doc: string;
  expected: string;
  default: unknown;
  sensitive: boolean;
  /** `honoured`, `ignored` (accepted with a warning, `doc` says why) or `refused` (`doc` says why). */
  status: 'honoured' | 'ignored' | 'refused';
}

/** What describing a definition needs of it. */
export type Described = Pick<
  ConfigDefinition<ConfigSchemaTree, unknown>,
  'envPrefix' | 'schema' | 'overrides'
>;

/** The schema's nodes as this definition treats them: an override replaces a key or a section. */
export function* effectiveNodes(
  definition: Described,
): Generator<{ path: string; node: ConfigKey<unknown> | IgnoredKey | RefusedKey }> {
  const overridden = Object.keys(definition.overrides ?? {});
  const emitted = new Set<string>();
  for (const { path, node } of schemaNodes(definition.schema)) {
    const covering = overridden.find((each) => path === each || path.startsWith(`${each}.`));
    if (covering === undefined) {
      yield { path, node };
    } else if (!emitted.has(covering)) {
      emitted.add(covering);
      yield { path: covering, node: definition.overrides?.[covering] as IgnoredKey | RefusedKey };
    }
  }
}

/** Every key of a definition with its env name, doc, expected format, default and status. */
export function describeConfig(definition: Described): ConfigKeyDescription[] {
  return [...effectiveNodes(definition)].map(({ path, node }) => {
    if (node instanceof ConfigKey) {
      return {
        path,
        env: envNameOf(definition.envPrefix, path, node),
        doc: node.doc,
        expected: node.format.expected,
        default: node.defaultValue,
        sensitive: node.options.sensitive === true,
        status: 'honoured' as const,
      };
    }
    return {
      path,
      env: envNameOfPath(definition.envPrefix, path),
      doc: node.reason,
      expected: 'anything',
      default: null,
      sensitive: false,
      status: node instanceof IgnoredKey ? ('ignored' as const) : ('refused' as const),
    };
  });
}

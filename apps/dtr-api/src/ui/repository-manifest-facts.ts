import { isIndexMediaType, MediaTypes } from '@dtr-cache/registry-protocol';

/** What a manifest is, as the tags table says it: a runnable image, an index, or an artifact. */
export type ManifestKind = 'image' | 'index' | 'artifact';

/** What the tags table shows of a manifest, read from its JSON. */
export interface ManifestFacts {
  readonly kind: ManifestKind;
  /** An image manifest's (or artifact's) config and layers, in bytes; undefined for an index. */
  readonly contentBytes: number | undefined;
  /** An index's platforms: `os/architecture[/variant]`, in its order. */
  readonly platforms: readonly string[];
  /** An index's manifests. */
  readonly children: ReadonlyArray<{ readonly digest: string; readonly size: number }>;
}

/** Config media types of runnable images; a manifest with another config is an artifact. */
const IMAGE_CONFIG_TYPES: readonly string[] = [
  MediaTypes.ociConfig,
  MediaTypes.dockerContainerConfig,
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A descriptor's size, if it is a byte count. */
function sizeOf(descriptor: unknown): number | undefined {
  const size = isObject(descriptor) ? descriptor['size'] : undefined;
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

/** `os/architecture[/variant]` of an index entry's `platform`, if it names one. */
function platformOf(descriptor: unknown): string | undefined {
  const platform = isObject(descriptor) ? descriptor['platform'] : undefined;
  if (!isObject(platform)) return undefined;
  const { os, architecture, variant } = platform;
  if (typeof os !== 'string' || typeof architecture !== 'string') return undefined;
  return [os, architecture, ...(typeof variant === 'string' && variant ? [variant] : [])].join('/');
}

/** The sum of the descriptors' sizes; undefined if one has none. */
function totalOf(descriptors: readonly unknown[]): number | undefined {
  let total = 0;
  for (const descriptor of descriptors) {
    const size = sizeOf(descriptor);
    if (size === undefined) return undefined;
    total += size;
  }
  return total;
}

/**
 * The facts of a manifest of `mediaType` whose parsed JSON is `document` (anything: a manifest
 * that is not what its type says gives what can be read of it, never an error).
 */
export function manifestFacts(mediaType: string, document: unknown): ManifestFacts {
  const body = isObject(document) ? document : {};
  if (isIndexMediaType(mediaType)) {
    const entries = Array.isArray(body['manifests']) ? (body['manifests'] as unknown[]) : [];
    return {
      kind: 'index',
      contentBytes: undefined,
      platforms: entries.map(platformOf).filter((platform) => platform !== undefined),
      children: entries.flatMap((entry) => {
        const size = sizeOf(entry);
        const digest = isObject(entry) ? entry['digest'] : undefined;
        return typeof digest === 'string' && size !== undefined ? [{ digest, size }] : [];
      }),
    };
  }
  const config = body['config'];
  const layers = Array.isArray(body['layers']) ? (body['layers'] as unknown[]) : [];
  const configType = isObject(config) ? config['mediaType'] : undefined;
  const artifact =
    typeof body['artifactType'] === 'string' ||
    (typeof configType === 'string' && !IMAGE_CONFIG_TYPES.includes(configType));
  return {
    kind: artifact ? 'artifact' : 'image',
    contentBytes: config === undefined ? undefined : totalOf([config, ...layers]),
    platforms: [],
    children: [],
  };
}

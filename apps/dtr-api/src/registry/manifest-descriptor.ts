import { Digest, RegistryError } from '@dtr-cache/registry-protocol';

/** A pushed manifest's JSON object (or one of its parts): not null, not an array. */
export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The error of a malformed manifest, saying what is wrong. */
export function invalidManifest(reason: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', undefined, { detail: { reason } });
}

/** A descriptor's fields as a manifest gives them (unchecked). */
export interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  urls?: unknown;
}

/**
 * The digest of a manifest's descriptor at `where` (`config`, `layers[2]`, `subject`), checking its
 * size too.
 * @throws RegistryError `MANIFEST_INVALID` naming the field that is wrong.
 */
export function descriptorDigest(descriptor: Descriptor | undefined, where: string): Digest {
  if (typeof descriptor !== 'object' || descriptor === null)
    throw invalidManifest(`${where} is not a descriptor`);
  if (typeof descriptor.digest !== 'string') throw invalidManifest(`${where}.digest is missing`);
  if (
    typeof descriptor.size !== 'number' ||
    !Number.isSafeInteger(descriptor.size) ||
    descriptor.size < 0
  ) {
    throw invalidManifest(`${where}.size is not a size`);
  }
  const digest = Digest.tryParse(descriptor.digest);
  if (!digest) throw invalidManifest(`${where}.digest is not a valid digest`);
  return digest;
}

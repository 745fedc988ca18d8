import { Digest } from '@dtr-cache/registry-protocol';

/** A manifest whose stored bytes cannot be read as one: garbage collection cannot know what it keeps. */
export class UnreadableManifestError extends Error {
  constructor(
    readonly digest: string,
    reason: string,
  ) {
    super(`manifest ${digest} cannot be read (${reason}): nothing was deleted`);
    this.name = 'UnreadableManifestError';
  }
}

/** The fields of a manifest that list what it keeps stored: one descriptor, or a list of them. */
const SINGLE_FIELDS = ['config'] as const;
const LIST_FIELDS = ['layers', 'manifests', 'blobs'] as const;

function digestOf(descriptor: unknown): string | undefined {
  if (typeof descriptor !== 'object' || descriptor === null) return undefined;
  const digest = (descriptor as { digest?: unknown }).digest;
  return typeof digest === 'string' ? Digest.tryParse(digest)?.toString() : undefined;
}

/**
 * The digests a stored manifest keeps: an image manifest's config and layers, an index's (or
 * manifest list's) child manifests, an artifact manifest's blobs. Not its `subject`: a referrer
 * does not keep the manifest it refers to. Layers given only by `urls` are listed too (keeping a
 * digest that is not stored costs nothing).
 * @throws UnreadableManifestError if the bytes are not a JSON object.
 */
export function manifestReferences(digest: string, bytes: Buffer): string[] {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UnreadableManifestError(digest, 'not JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw new UnreadableManifestError(digest, 'not a JSON object');
  const fields = document as Record<string, unknown>;
  const found: string[] = [];
  for (const field of SINGLE_FIELDS) {
    const reference = digestOf(fields[field]);
    if (reference !== undefined) found.push(reference);
  }
  for (const field of LIST_FIELDS) {
    const list = fields[field];
    if (!Array.isArray(list)) continue;
    for (const descriptor of list) {
      const reference = digestOf(descriptor);
      if (reference !== undefined) found.push(reference);
    }
  }
  return found;
}

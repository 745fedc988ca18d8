import { Digest } from '@dtr-cache/registry-protocol';

/*
 * The storage layout, drawn once. Every path is derived from a validated Digest, never from
 * request text.
 *
 *   <root>/                              storage.filesystem.rootdirectory
 *   ├── blobs/
 *   │   ├── sha256/
 *   │   │   ├── 00/ … ff/                fan-out: the first two hex digits of the digest
 *   │   │   │   └── <64 hex digits>      the blob's bytes; the file's mtime is its last pull
 *   │   └── sha512/
 *   │       └── <2 hex>/<128 hex digits>
 *   └── tmp/
 *       └── <uuid>.part                  uncommitted writes; all removed at start-up
 *
 * A blob appears under blobs/ only by an atomic rename of a complete, verified and fsynced
 * temp file, so a crash at any point leaves either no blob or the whole blob.
 */

/** Key prefix under which blobs live. */
export const BLOBS_PREFIX = 'blobs/';

/** The storage key of a blob. */
export function blobKey(digest: Digest): string {
  return `${BLOBS_PREFIX}${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}`;
}

/** The digest a blob key stands for, or undefined for a key that is not a blob's. */
export function digestOfBlobKey(key: string): Digest | undefined {
  const match = /^blobs\/(sha256|sha512)\/([0-9a-f]{2})\/([0-9a-f]+)$/.exec(key);
  if (!match || !(match[3] as string).startsWith(match[2] as string)) return undefined;
  return Digest.tryParse(`${match[1]}:${match[3]}`);
}

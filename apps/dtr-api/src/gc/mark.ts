import type { BlobStore } from '@dtr-cache/blob-store';
import { Digest, RegistryError } from '@dtr-cache/registry-protocol';
import type { GcStore, ManifestRow } from './gc-store';
import { manifestReferences, UnreadableManifestError } from './manifest-references';

/** Manifest rows read per query. */
const PAGE = 500;
/** The largest manifest DTR accepts (4 MiB), and so the most bytes read of one. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * The mark phase: the set of digests some manifest of some repository keeps (the manifests' own
 * bytes, their configs and layers, an index's child manifests). Every distinct manifest is read
 * once, one at a time, from the blob store (at most 4 MiB each).
 */
export class ReferenceMarker {
  /** Digests kept: stored blobs among them must not be deleted. */
  readonly referenced = new Set<string>();
  /** Manifests read so far. */
  private readonly read = new Set<string>();

  constructor(
    private readonly store: GcStore,
    private readonly blobs: Pick<BlobStore, 'open'>,
  ) {}

  /** Manifests read so far. */
  get manifests(): number {
    return this.read.size;
  }

  /**
   * Marks what every manifest keeps, page by page in key order. A manifest pushed meanwhile may
   * be missed here: {@link markPushedSince} (and the links its push stamped) cover it.
   * @throws UnreadableManifestError if a manifest's bytes are missing or not a manifest.
   */
  async markAll(signal?: AbortSignal): Promise<void> {
    let after: ManifestRow | undefined;
    for (;;) {
      signal?.throwIfAborted();
      const page = await this.store.manifestPage(after, PAGE);
      for (const row of page) await this.mark(row);
      if (page.length < PAGE) return;
      after = page.at(-1);
    }
  }

  /** Marks what the manifests pushed at or after `since` keep (those not read yet). */
  async markPushedSince(since: Date): Promise<void> {
    for (const row of await this.store.manifestsPushedSince(since)) await this.mark(row);
  }

  private async mark(row: ManifestRow): Promise<void> {
    if (this.read.has(row.digest)) return;
    const bytes = await this.bytesOf(row);
    this.read.add(row.digest);
    this.referenced.add(row.digest);
    for (const digest of manifestReferences(row.digest, bytes)) this.referenced.add(digest);
  }

  private async bytesOf(row: ManifestRow): Promise<Buffer> {
    const digest = Digest.tryParse(row.digest);
    if (!digest) throw new UnreadableManifestError(row.digest, 'not a digest');
    if (row.size > MAX_MANIFEST_BYTES)
      throw new UnreadableManifestError(row.digest, `${row.size} bytes, over 4 MiB`);
    let stream;
    try {
      ({ stream } = await this.blobs.open(digest));
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN')
        throw new UnreadableManifestError(row.digest, 'its bytes are not stored');
      throw error;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > MAX_MANIFEST_BYTES) {
        stream.destroy();
        throw new UnreadableManifestError(row.digest, 'over 4 MiB stored');
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, length);
  }
}

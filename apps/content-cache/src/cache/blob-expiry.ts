import type { BlobStore } from '@dtr-cache/blob-store';
import type { Logger } from '@dtr-cache/logging';
import { DIGEST_HEX_LENGTHS, Digest, type DigestAlgorithm } from '@dtr-cache/registry-protocol';
import { type IndexedBlob, LastPullIndex } from './last-pull-index';

/** Options of {@link BlobExpiry}. */
export interface ExpiryOptions {
  /** `blobttl`: a blob not pulled for this long is deleted. */
  ttlMs: number | undefined;
  /** `maxsize`: beyond this many bytes, the least recently pulled blobs are evicted. */
  maxSize: number | undefined;
  /** How often the sweep runs. */
  sweepIntervalMs: number;
}

/** What a sweep did: blobs deleted for age and for size, and index entries it looked at. */
export interface SweepResult {
  expired: number;
  evicted: number;
  examined: number;
}

/** Bytes of a digest of each algorithm: an index's key width. */
const KEY_BYTES: Readonly<Record<DigestAlgorithm, number>> = {
  sha256: DIGEST_HEX_LENGTHS.sha256 / 2,
  sha512: DIGEST_HEX_LENGTHS.sha512 / 2,
};

/**
 * Expiry of cached blobs: `blobttl` (last-pull semantics) and the optional `maxsize` limit
 * (least-recently-pulled eviction). Every stored blob is in a compact index in last-pull order
 * ({@link LastPullIndex}, one per digest algorithm) — a pull moves it to the newest end — so a
 * sweep walks only the expired (or evicted) oldest blobs: its cost does not grow with the number
 * of unexpired blobs. Pull times are also recorded on disk (the blob file's mtime), so the clock
 * survives restarts: the index is rebuilt from the store at start-up, in the background (a store
 * of millions of blobs takes a while to read; pulls are served and recorded meanwhile), and sweeps
 * start once it is complete. A blob being read or filled is never deleted; it is left for a later
 * sweep.
 */
export class BlobExpiry {
  private readonly indexes = new Map<DigestAlgorithm, LastPullIndex>();
  private readonly readers = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<SweepResult> | undefined;
  private loading: Promise<void> | undefined;
  private loaded = false;

  private constructor(
    private readonly local: BlobStore,
    private readonly options: ExpiryOptions,
    private readonly logger: Logger,
    private readonly onRemoved?: (digest: Digest) => void,
  ) {}

  /**
   * An expiry whose index is built from the stored blobs and their last-pull times in the
   * background ({@link ready}); it records pulls at once, and sweeps once the index is complete.
   * `onRemoved` is told of each blob it deletes (other processes holding copies drop theirs).
   * With `after`, the store is read only once it settled (a start-up that should not share the
   * CPU with reading millions of entries).
   */
  static open(
    local: BlobStore,
    options: ExpiryOptions,
    logger: Logger,
    onRemoved?: (digest: Digest) => void,
    after?: Promise<unknown>,
  ): BlobExpiry {
    const expiry = new BlobExpiry(local, options, logger, onRemoved);
    expiry.loadIndex(after);
    return expiry;
  }

  /** {@link open}, resolving once the index is complete. */
  static async load(local: BlobStore, options: ExpiryOptions, logger: Logger): Promise<BlobExpiry> {
    const expiry = BlobExpiry.open(local, options, logger);
    await expiry.ready;
    return expiry;
  }

  /** Resolves once the index holds every stored blob (rejects if reading the store failed). */
  get ready(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }

  /** Blobs tracked, their total size, and the memory of the index. */
  get stats(): { blobs: number; bytes: number; indexBytes: number } {
    let blobs = 0;
    let bytes = 0;
    let indexBytes = 0;
    for (const index of this.indexes.values()) {
      blobs += index.size;
      bytes += index.totalBytes;
      indexBytes += index.memoryBytes;
    }
    return { blobs, bytes, indexBytes };
  }

  private indexOf(algorithm: DigestAlgorithm): LastPullIndex {
    let index = this.indexes.get(algorithm);
    if (!index) {
      index = new LastPullIndex(KEY_BYTES[algorithm]);
      this.indexes.set(algorithm, index);
    }
    return index;
  }

  /** Reads the store into the index (in the background); on failure, tries again at a sweep. */
  private loadIndex(after: Promise<unknown> | undefined): void {
    this.loading = (async () => {
      await after?.catch(() => undefined);
      const started = performance.now();
      for await (const blob of this.local.list())
        this.indexOf(blob.digest.algorithm).add(
          blob.digest.hex,
          blob.size,
          blob.lastAccessedAt.getTime(),
        );
      for (const index of this.indexes.values()) index.reorder();
      this.loaded = true;
      this.logger.info('blob index loaded', {
        ...this.stats,
        durationMs: Math.round(performance.now() - started),
      });
      if (this.overLimit()) void this.sweep();
    })();
    this.loading.catch((error: unknown) => {
      this.loading = undefined;
      this.logger.error('blob index could not be loaded', { error });
    });
  }

  private overLimit(): boolean {
    return this.options.maxSize !== undefined && this.stats.bytes > this.options.maxSize;
  }

  /** A blob was stored (a fill committed): it counts as pulled now. May trigger eviction. */
  stored(digest: Digest, size: number, at = Date.now()): void {
    this.indexOf(digest.algorithm).touch(digest.hex, size, at);
    if (this.loaded && this.overLimit()) void this.sweep();
  }

  /** A client starts reading a stored blob: records the pull; call the result when it stops. */
  reading(digest: Digest, size: number, at = Date.now()): () => void {
    const key = digest.toString();
    this.indexOf(digest.algorithm).touch(digest.hex, size, at);
    this.readers.set(key, (this.readers.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const count = (this.readers.get(key) ?? 1) - 1;
      if (count === 0) this.readers.delete(key);
      else this.readers.set(key, count);
    };
  }

  /**
   * Deletes expired blobs, then evicts the least recently pulled ones beyond `maxsize`. Does
   * nothing until the index is complete.
   */
  sweep(now = Date.now()): Promise<SweepResult> {
    if (!this.loaded) {
      if (!this.loading) this.loadIndex(undefined);
      return Promise.resolve({ expired: 0, evicted: 0, examined: 0 });
    }
    this.sweeping ??= this.runSweep(now).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async runSweep(now: number): Promise<SweepResult> {
    const result: SweepResult = { expired: 0, evicted: 0, examined: 0 };
    const { ttlMs } = this.options;
    // Oldest first, lazily: the walk stops at the first blob that is neither expired nor over
    // the limit.
    for (const { algorithm, blob } of this.oldestFirst()) {
      result.examined += 1;
      const index = this.indexOf(algorithm);
      // Pulled while an earlier deletion was awaited: it is among the newest now.
      if (index.get(blob.hex)?.lastPull !== blob.lastPull) continue;
      const isExpired = ttlMs !== undefined && blob.lastPull + ttlMs <= now;
      if (!isExpired && !this.overLimit()) break;
      const digest = Digest.parse(`${algorithm}:${blob.hex}`);
      if (this.readers.has(digest.toString())) continue;
      index.remove(blob.hex);
      await this.local.delete(digest);
      this.onRemoved?.(digest);
      this.logger.info('blob removed', {
        digest: digest.toString(),
        reason: isExpired ? 'expired' : 'evicted',
        bytes: blob.size,
      });
      if (isExpired) result.expired += 1;
      else result.evicted += 1;
    }
    return result;
  }

  /** Every indexed blob, oldest first, merging the indexes of the digest algorithms. */
  private *oldestFirst(): Generator<{ algorithm: DigestAlgorithm; blob: IndexedBlob }> {
    const walks = [...this.indexes].map(([algorithm, index]) => {
      const walk = index.oldestFirst();
      return { algorithm, walk, head: walk.next() };
    });
    for (;;) {
      let oldest: (typeof walks)[number] | undefined;
      for (const candidate of walks) {
        if (candidate.head.done) continue;
        if (!oldest || candidate.head.value.lastPull < (oldest.head.value as IndexedBlob).lastPull)
          oldest = candidate;
      }
      if (!oldest || oldest.head.done) return;
      const blob = oldest.head.value;
      oldest.head = oldest.walk.next();
      yield { algorithm: oldest.algorithm, blob };
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

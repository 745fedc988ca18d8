import type { BlobStore } from '@dtr-cache/blob-store';
import type { Logger } from '@dtr-cache/logging';
import type { Digest } from '@dtr-cache/registry-protocol';

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

interface Entry {
  readonly digest: Digest;
  readonly size: number;
  lastPull: number;
}

/**
 * Expiry of cached blobs: `blobttl` (last-pull semantics) and the optional `maxsize` limit
 * (least-recently-pulled eviction). Every stored blob sits in a Map kept in last-pull order — a
 * pull moves its entry to the end — so a sweep walks only the expired (or evicted) prefix: its
 * cost does not grow with the number of unexpired blobs. Pull times are also recorded on disk
 * (the blob file's mtime), so the clock survives restarts: the index is rebuilt from the store at
 * start-up. A blob being read or filled is never deleted; it is left for a later sweep.
 */
export class BlobExpiry {
  private readonly entries = new Map<string, Entry>();
  private readonly readers = new Map<string, number>();
  private total = 0;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<SweepResult> | undefined;

  private constructor(
    private readonly local: BlobStore,
    private readonly options: ExpiryOptions,
    private readonly logger: Logger,
  ) {}

  /** Builds the index from the stored blobs and their last-pull times. */
  static async load(local: BlobStore, options: ExpiryOptions, logger: Logger): Promise<BlobExpiry> {
    const expiry = new BlobExpiry(local, options, logger);
    const stored: Entry[] = [];
    for await (const blob of local.list())
      stored.push({
        digest: blob.digest,
        size: blob.size,
        lastPull: blob.lastAccessedAt.getTime(),
      });
    stored.sort((a, b) => a.lastPull - b.lastPull);
    for (const entry of stored) expiry.insert(entry);
    return expiry;
  }

  /** Blobs tracked and their total size. */
  get stats(): { blobs: number; bytes: number } {
    return { blobs: this.entries.size, bytes: this.total };
  }

  private insert(entry: Entry): void {
    const key = entry.digest.toString();
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.total -= previous.size;
    }
    this.entries.set(key, entry);
    this.total += entry.size;
  }

  /** A blob was stored (a fill committed): it counts as pulled now. May trigger eviction. */
  stored(digest: Digest, size: number, at = Date.now()): void {
    this.insert({ digest, size, lastPull: at });
    if (this.options.maxSize !== undefined && this.total > this.options.maxSize) void this.sweep();
  }

  /** A client starts reading a stored blob: records the pull; call the result when it stops. */
  reading(digest: Digest, size: number, at = Date.now()): () => void {
    const key = digest.toString();
    this.insert({ digest, size, lastPull: at });
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

  private async remove(entry: Entry, reason: 'expired' | 'evicted'): Promise<void> {
    const key = entry.digest.toString();
    this.entries.delete(key);
    this.total -= entry.size;
    await this.local.delete(entry.digest);
    this.logger.info('blob removed', { digest: key, reason, bytes: entry.size });
  }

  /** Deletes expired blobs, then evicts the least recently pulled ones beyond `maxsize`. */
  sweep(now = Date.now()): Promise<SweepResult> {
    this.sweeping ??= this.runSweep(now).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async runSweep(now: number): Promise<SweepResult> {
    const result: SweepResult = { expired: 0, evicted: 0, examined: 0 };
    const { ttlMs, maxSize } = this.options;
    // Oldest first, lazily: the walk stops at the first blob that is neither expired nor over
    // the limit. (A Map iterator tolerates deletions, and re-inserted entries come last.)
    for (const entry of this.entries.values()) {
      result.examined += 1;
      const isExpired = ttlMs !== undefined && entry.lastPull + ttlMs <= now;
      const overLimit = maxSize !== undefined && this.total > maxSize;
      if (!isExpired && !overLimit) break;
      if (this.readers.has(entry.digest.toString())) continue;
      await this.remove(entry, isExpired ? 'expired' : 'evicted');
      if (isExpired) result.expired += 1;
      else result.evicted += 1;
    }
    return result;
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

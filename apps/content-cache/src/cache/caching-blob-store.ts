import type { Readable } from 'node:stream';
import type {
  BlobInfo,
  BlobStore,
  FileRegion,
  OpenBlob,
  TailableBlobStore,
} from '@dtr-cache/blob-store';
import {
  type ByteRange,
  type CacheResult,
  type Digest,
  RegistryError,
  isRangeWithin,
  rangeNotSatisfiable,
} from '@dtr-cache/registry-protocol';
import type { UpstreamClient } from '../upstream/upstream-client';
import {
  BlobFill,
  type FillContext,
  type FillCoordination,
  InFlightFills,
  isDiskFull,
  type SharedFill,
  type PassThrough,
  UpstreamPassThrough,
  VerifyingPassThrough,
} from './fill';

export type { FillContext } from './fill';

/** After the disk filled up, misses are passed through (not kept) for this long. */
const DISK_FULL_BACKOFF_MS = 30_000;
/**
 * A blob's stored last-pull time (its mtime) is refreshed at most this often: it only has to
 * survive restarts with minute precision, while the expiry index in memory is exact.
 */
const TOUCH_INTERVAL_MS = 60_000;
/** Bound on the remembered touch times (beyond it, the record starts over). */
const MAX_TOUCH_RECORDS = 100_000;

/** An open blob of the cache, with where its bytes come from. */
export interface CachedBlob extends OpenBlob {
  /** For `X-Content-Cache`, logs and metrics: `hit`, `miss`, `coalesced` or `pass-through`. */
  readonly source: CacheResult;
}

/** What the cache knows of a blob, with where it learnt it. */
export interface CachedBlobInfo extends BlobInfo {
  /** `hit`: the blob is on this cache's disk; `miss`: not (a fill's size, or the upstream's HEAD). */
  readonly source: 'hit' | 'miss';
}

/** The cache as one request sees it: misses are filled with that request's grant. */
export interface CacheReader {
  /**
   * Local (a hit), else the fill's size, else the upstream's answer to a HEAD (a miss); undefined
   * if unknown. Never fills.
   * @throws the upstream's refusal, or its failure, other than `BLOB_UNKNOWN`.
   */
  stat(digest: Digest): Promise<CachedBlobInfo | undefined>;
  /**
   * A hit, or the fill (started or joined) of a miss. Streams.
   * @throws RegistryError `BLOB_UNKNOWN`, `RANGE_INVALID`; the upstream's refusal.
   */
  open(digest: Digest, range?: ByteRange): Promise<CachedBlob>;
}

/** Observers of the cache: fills for metrics and logs, pulls and reads for expiry. */
export interface CacheObserver {
  started?(digest: Digest): void;
  finished?(digest: Digest, outcome: 'committed' | 'failed', error?: unknown): void;
  /** A fill committed a blob of `size` bytes. */
  stored?(digest: Digest, size: number): void;
  /** A client starts reading a stored blob; the returned function is called when it stops. */
  reading?(digest: Digest, size: number): () => void;
}

/**
 * The content cache as a {@link BlobStore} decorator. Hits come from the local store (and record
 * the pull); misses fill from upstream — one upstream download per digest however many clients ask
 * at once — while streaming to every client. A HEAD on a miss is answered from upstream without a
 * fill. In read-only mode misses are passed through, still one download each, and nothing is kept.
 * Route code uses the request-bound view from {@link view} and never knows which it got.
 */
export class CachingBlobStore {
  private readonly fills = new InFlightFills();
  private readonly touchedAt = new Map<string, number>();
  private diskFullUntil = 0;
  private readonly downloading = new Set<Promise<void>>();

  /**
   * @param local where hits come from (the memory tier over the stored blobs)
   * @param writers where fills write, read back while written (the store under `local`)
   * @param coordination the other processes of this cache (its workers), with which each miss is
   *   filled once: absent, this process is the only one
   * @param readOnly `storage.maintenance.readonly`: nothing is written to the store — a miss is
   *   still downloaded once for all its clients, but passed through and not kept, and a hit's
   *   last-pull time is not recorded
   */
  constructor(
    readonly local: BlobStore,
    private readonly writers: TailableBlobStore,
    private readonly upstream: UpstreamClient,
    private readonly observer: CacheObserver = {},
    private readonly coordination?: FillCoordination,
    private readonly readOnly = false,
  ) {}

  /** Fills in progress, this process's and those of others its clients read (for tests). */
  get fillsInProgress(): number {
    return this.fills.size;
  }

  /** Upstream downloads this process runs for its fills (not those of others it reads). */
  get downloadsInProgress(): number {
    return this.downloading.size;
  }

  /**
   * Waits until this process's upstream downloads have ended (committed or failed), or for
   * `timeoutMs`: on a graceful stop, a download under way is finished and its blob kept rather
   * than thrown away with the bytes already fetched. Resolves true when none is left.
   */
  async downloadsSettled(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      while (this.downloading.size > 0) {
        const settled = await Promise.race([
          Promise.all([...this.downloading]).then(() => true),
          timedOut,
        ]);
        if (!settled) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The cache for one request: its misses are filled with `context`. */
  view(context: FillContext): CacheReader {
    return {
      stat: (digest) => this.statFor(digest, context),
      open: (digest, range) => this.openFor(digest, range, context),
    };
  }

  private async statFor(digest: Digest, context: FillContext): Promise<CachedBlobInfo | undefined> {
    const local = await this.local.stat(digest);
    if (local) return { ...local, source: 'hit' };
    const fill = await this.fills.get(digest);
    if (fill) return { digest, size: fill.size, lastAccessedAt: new Date(), source: 'miss' };
    try {
      const size = await this.upstream.headBlob(context.repository, digest, context.grant);
      return { digest, size, lastAccessedAt: new Date(), source: 'miss' };
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN') return undefined;
      throw error;
    }
  }

  private async openFor(
    digest: Digest,
    range: ByteRange | undefined,
    context: FillContext,
  ): Promise<CachedBlob> {
    const hit = await this.openLocal(digest, range);
    if (hit) return hit;
    const { fill: filling, joined } = this.fills.join(digest, () =>
      this.startFill(digest, context),
    );
    const fill = await filling;
    if (fill.committed) {
      const stored = await this.openLocal(digest, range);
      if (stored) return new SourcedBlob(stored, joined || fill.remote ? 'coalesced' : 'miss');
    }
    // Ended without keeping the blob (failed, or kept nothing) before this client joined it.
    if (fill.spent) {
      this.fills.forget(digest, filling);
      return this.openFor(digest, range, context);
    }
    if (!isRangeWithin(range, fill.size)) throw rangeNotSatisfiable(fill.size);
    const source = !fill.kept ? 'pass-through' : joined || fill.remote ? 'coalesced' : 'miss';
    return { size: fill.size, range, stream: fill.reader(range), source, recycle: fill.recycle };
  }

  private async openLocal(
    digest: Digest,
    range: ByteRange | undefined,
  ): Promise<CachedBlob | undefined> {
    try {
      const blob = await this.local.open(digest, range);
      this.touch(digest);
      const done = this.observer.reading?.(digest, blob.size);
      // Bytes in memory stay valid whatever happens to the file: the pull counts, no read is held.
      if (blob.bytes) done?.();
      else if (done) blob.stream.once('close', done);
      return new SourcedBlob(blob, 'hit');
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN') return undefined;
      throw error;
    }
  }

  /** Refreshes the stored last-pull time, unless that was done within the touch interval. */
  private touch(digest: Digest): void {
    if (this.readOnly) return;
    const key = digest.toString();
    const now = Date.now();
    const last = this.touchedAt.get(key);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    if (this.touchedAt.size >= MAX_TOUCH_RECORDS) this.touchedAt.clear();
    this.touchedAt.set(key, now);
    void this.local.touch(digest).catch(() => undefined);
  }

  /**
   * Starts the one download of a missed blob that its clients share: a fill, or while the disk is
   * full one that keeps nothing.
   */
  private async startFill(digest: Digest, context: FillContext): Promise<SharedFill> {
    const claim = await this.coordination?.claim(digest, this.refill(digest, context));
    if (claim && !claim.owner) return claim.fill;
    const filling = this.startOwnFill(digest, context);
    claim?.report(filling);
    return filling;
  }

  /**
   * Where the clients of another process's fill get the rest of the blob if that process goes
   * away: the whole blob from the store, or from the new fill that replaces the one gone (one for
   * all the clients of all the processes), verified again for each client against what it was sent.
   */
  private refill(digest: Digest, context: FillContext): PassThrough {
    return new VerifyingPassThrough(digest, async () => {
      const blob = await this.openFor(digest, undefined, context);
      return { size: blob.size, stream: blob.stream };
    });
  }

  private async startOwnFill(digest: Digest, context: FillContext): Promise<BlobFill> {
    const upstream = this.upstream.getBlob(context.repository, digest, context.grant);
    const passThrough = new UpstreamPassThrough(this.upstream, digest, context);
    const fill =
      this.readOnly || Date.now() < this.diskFullUntil
        ? BlobFill.transient(digest, await upstream, passThrough)
        : await BlobFill.start(this.writers, digest, upstream, passThrough);
    const done = fill.done.then(
      () => undefined,
      () => undefined,
    );
    this.downloading.add(done);
    void done.then(() => this.downloading.delete(done));
    if (!fill.kept) return fill;
    this.observer.started?.(digest);
    fill.done.then(
      (info) => {
        if (info) this.observer.stored?.(digest, info.size);
        this.observer.finished?.(digest, 'committed');
      },
      (error: unknown) => {
        if (isDiskFull(error)) this.diskFullUntil = Date.now() + DISK_FULL_BACKOFF_MS;
        this.observer.finished?.(digest, 'failed', error);
      },
    );
    return fill;
  }
}

/**
 * An open blob with its `source` set. Not a spread of it: that would call a lazy `stream` getter
 * (a memory hit's), making the stream that a one-write response never reads.
 */
class SourcedBlob implements CachedBlob {
  constructor(
    private readonly blob: OpenBlob,
    readonly source: CacheResult,
  ) {}

  get size(): number {
    return this.blob.size;
  }
  get range(): ByteRange | undefined {
    return this.blob.range;
  }
  get stream(): Readable {
    return this.blob.stream;
  }
  get bytes(): Buffer | undefined {
    return this.blob.bytes;
  }
  get recycle(): ((chunk: Buffer) => void) | undefined {
    return this.blob.recycle;
  }
  get file(): FileRegion | undefined {
    return this.blob.file;
  }
}

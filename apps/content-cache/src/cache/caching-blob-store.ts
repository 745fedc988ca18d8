import { type Readable, Transform } from 'node:stream';
import type { BlobInfo, BlobStore, BlobWriter, OpenBlob } from '@dtr-cache/blob-store';
import {
  type ByteRange,
  createDigestVerifier,
  type Digest,
  type DigestAlgorithm,
  type PrefixDigest,
  RegistryError,
  isRangeWithin,
  rangeNotSatisfiable,
} from '@dtr-cache/registry-protocol';
import type { UpstreamClient } from '../upstream/upstream-client';
import { BlobFill, isDiskFull, type PassThrough } from './blob-fill';

/** After the disk filled up, misses are passed through (not kept) for this long. */
const DISK_FULL_BACKOFF_MS = 30_000;
/**
 * A blob's stored last-pull time (its mtime) is refreshed at most this often: it only has to
 * survive restarts with minute precision, while the expiry index in memory is exact.
 */
const TOUCH_INTERVAL_MS = 60_000;
/** Bound on the remembered touch times (beyond it, the record starts over). */
const MAX_TOUCH_RECORDS = 100_000;

/** What a miss needs to fetch from upstream: the repository and the client's grant. */
export interface FillContext {
  readonly repository: string;
  readonly grant: string;
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
 * fill. Route code uses the request-bound view from {@link view} and never knows which it got.
 */
export class CachingBlobStore {
  private readonly fills = new Map<string, Promise<BlobFill>>();
  private readonly touchedAt = new Map<string, number>();
  private diskFullUntil = 0;

  constructor(
    readonly local: BlobStore,
    private readonly upstream: UpstreamClient,
    private readonly observer: CacheObserver = {},
  ) {}

  /** Fills in progress (for metrics and tests). */
  get fillsInProgress(): number {
    return this.fills.size;
  }

  /** A BlobStore whose misses are filled from upstream with `context`. */
  view(context: FillContext): BlobStore {
    return new CacheView(this, context);
  }

  /** {@link view}'s `stat`: local, else the fill's size, else the upstream's answer to a HEAD. */
  async statFor(digest: Digest, context: FillContext): Promise<BlobInfo | undefined> {
    const local = await this.local.stat(digest);
    if (local) return local;
    const fill = await this.fills.get(digest.toString());
    if (fill) return { digest, size: fill.size, lastAccessedAt: new Date() };
    try {
      const size = await this.upstream.headBlob(context.repository, digest, context.grant);
      return { digest, size, lastAccessedAt: new Date() };
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN') return undefined;
      throw error;
    }
  }

  /** {@link view}'s `open`: a hit, or the fill (started or joined) of a miss. */
  async openFor(
    digest: Digest,
    range: ByteRange | undefined,
    context: FillContext,
  ): Promise<OpenBlob> {
    const hit = await this.openLocal(digest, range);
    if (hit) return hit;
    const key = digest.toString();
    const shared = this.fills.get(key);
    const filling = shared ?? this.share(key, digest, context);
    const joined = shared !== undefined;
    const fill = await filling;
    if (fill.committed) {
      const stored = await this.openLocal(digest, range);
      if (stored) return new SourcedBlob(stored, joined ? 'coalesced' : 'miss');
    }
    // Ended without keeping the blob (failed, or kept nothing) before this client joined it.
    if (fill.spent) {
      if (this.fills.get(key) === filling) this.fills.delete(key);
      return this.openFor(digest, range, context);
    }
    if (!isRangeWithin(range, fill.size)) throw rangeNotSatisfiable(fill.size);
    const source = !fill.kept ? 'pass-through' : joined ? 'coalesced' : 'miss';
    return { size: fill.size, range, stream: fill.reader(range), source, recycle: fill.recycle };
  }

  private async openLocal(
    digest: Digest,
    range: ByteRange | undefined,
  ): Promise<OpenBlob | undefined> {
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
    const key = digest.toString();
    const now = Date.now();
    const last = this.touchedAt.get(key);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    if (this.touchedAt.size >= MAX_TOUCH_RECORDS) this.touchedAt.clear();
    this.touchedAt.set(key, now);
    void this.local.touch(digest).catch(() => undefined);
  }

  /**
   * Serves a blob straight from upstream without keeping it, to one client: one a fill left behind
   * (see {@link BlobFill}). The whole blob is fetched and verified, so the body (or the requested
   * range of it) ends only once verified; with `sent`, its first bytes must also be those.
   */
  private async passThrough(
    digest: Digest,
    range: ByteRange | undefined,
    context: FillContext,
    sent?: PrefixDigest,
  ): Promise<OpenBlob> {
    const upstream = await this.upstream.getBlob(context.repository, digest, context.grant);
    if (!isRangeWithin(range, upstream.size)) {
      upstream.stream.destroy();
      throw rangeNotSatisfiable(upstream.size);
    }
    const verified = upstream.stream.pipe(
      createDigestVerifier(digest, upstream.size, { prefix: sent }),
    );
    upstream.stream.once('error', (error: Error) => verified.destroy(error));
    const stream = range ? verified.pipe(sliceOf(range)) : verified;
    if (range) verified.once('error', (error) => stream.destroy(error));
    return { size: upstream.size, range, stream: stream as Readable, source: 'pass-through' };
  }

  /** Starts the download of `key` that later clients join, until it has ended. */
  private share(key: string, digest: Digest, context: FillContext): Promise<BlobFill> {
    const filling = this.startFill(digest, context);
    this.fills.set(key, filling);
    // (Another download may have replaced this one already: see `openFor`.)
    const leave = () => {
      if (this.fills.get(key) === filling) this.fills.delete(key);
    };
    filling.then((fill) => fill.done).then(leave, leave);
    return filling;
  }

  /**
   * Starts the one download of a missed blob that its clients share: a fill, or while the disk is
   * full one that keeps nothing.
   */
  private async startFill(digest: Digest, context: FillContext): Promise<BlobFill> {
    const upstream = this.upstream.getBlob(context.repository, digest, context.grant);
    const passThrough: PassThrough = async (range, sent) =>
      (await this.passThrough(digest, range, context, sent)).stream;
    const fill =
      Date.now() < this.diskFullUntil
        ? BlobFill.transient(digest, await upstream, passThrough)
        : await BlobFill.start(this.local, digest, upstream, passThrough);
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
class SourcedBlob implements OpenBlob {
  constructor(
    private readonly blob: OpenBlob,
    readonly source: string,
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
}

/** A {@link BlobStore} over the cache for one request: misses fill with its context. */
class CacheView implements BlobStore {
  constructor(
    private readonly cache: CachingBlobStore,
    private readonly context: FillContext,
  ) {}

  stat(digest: Digest): Promise<BlobInfo | undefined> {
    return this.cache.statFor(digest, this.context);
  }
  open(digest: Digest, range?: ByteRange): Promise<OpenBlob> {
    return this.cache.openFor(digest, range, this.context);
  }
  create(options?: { algorithm?: DigestAlgorithm }): Promise<BlobWriter> {
    return this.cache.local.create(options);
  }
  delete(digest: Digest): Promise<boolean> {
    return this.cache.local.delete(digest);
  }
  touch(digest: Digest, at?: Date): Promise<boolean> {
    return this.cache.local.touch(digest, at);
  }
  list(): AsyncIterable<BlobInfo> {
    return this.cache.local.list();
  }
}

/** Passes on only the bytes of an inclusive range, holding the last back until the source ends. */
function sliceOf(range: ByteRange): Transform {
  let position = 0;
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const from = Math.max(range.start - position, 0);
      const to = Math.min(range.end + 1 - position, chunk.length);
      position += chunk.length;
      if (held) this.push(held);
      held = to > from ? chunk.subarray(from, to) : undefined;
      callback();
    },
    flush(callback) {
      callback(null, held);
    },
  });
}

import { Readable } from 'node:stream';
import type { BlobInfo, BlobStore } from '@dtr-cache/blob-store';
import {
  assertContentMatches,
  type ByteRange,
  type Digest,
  DigestHasher,
  type PrefixDigest,
  RegistryError,
} from '@dtr-cache/registry-protocol';

/** True for a storage error meaning the disk (or quota) is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Free space kept beyond a blob's size when deciding whether it fits: room for the file system's
 * own blocks and for the other fills under way.
 */
const FREE_SPACE_RESERVE = 64 * 1024 * 1024;

/**
 * Serves a blob (or a range of it) straight from upstream, verified, without keeping it; with
 * `sent`, the upstream's first bytes must also be those a client was already sent.
 */
export type PassThrough = (range: ByteRange | undefined, sent?: PrefixDigest) => Promise<Readable>;
import type { UpstreamBlob } from '../upstream/upstream-client';

const READ_CHUNK = 1024 * 1024;
/**
 * The newest bytes of a fill are kept in memory (the upstream's own chunks, not copies): readers
 * that keep up take them from here as they arrive, without waiting for the disk write or reading
 * them back; readers further behind read from the file. Bounds the memory of a fill.
 */
const HANDOFF_WINDOW = 8 * 1024 * 1024;
/**
 * A fill that keeps nothing has no file for clients behind its window: it reads from upstream at
 * most this far ahead of its fastest client (an upstream faster than every client would otherwise
 * leave them all behind, each then making its own download) ...
 */
const TRANSIENT_LEAD = 8 * 1024 * 1024;
/** ... and keeps this much, so clients slower than the fastest can lag it by the difference. */
const TRANSIENT_WINDOW = 32 * 1024 * 1024;
/**
 * Bytes a fill may have waiting for the disk before it stops reading from upstream. Stopping at
 * the writer's own high-water mark would pause the upstream socket on every write, and each
 * resume waits for the upstream to start sending again; the budget bounds memory instead.
 */
const WRITE_BACKLOG = 16 * 1024 * 1024;

/** Where a fill's bytes go: the local store's writer, or a {@link TransientSink}. */
interface FillSink {
  /** Bytes accepted (hashed) so far. */
  readonly size: number;
  /** Bytes stored so far, readable with `readWritten`. */
  readonly written: number;
  /** Bytes accepted but not stored yet. */
  readonly writableLength: number;
  readonly errored: Error | null;
  readonly destroyed: boolean;
  write(chunk: Buffer, callback: () => void): boolean;
  commit(
    digest: Digest,
    size: number,
    options: { onVerified: () => void },
  ): Promise<BlobInfo | undefined>;
  cancel(): Promise<void>;
  hashedPrefix(): PrefixDigest;
  readWritten(offset: number, length: number): Promise<Buffer>;
  recycle(chunk: Buffer): void;
  releaseReader(): Promise<void>;
}

/**
 * The sink of a fill that keeps nothing (the disk is full, or has no room for the blob): it only
 * hashes, so the fill still verifies what it hands its clients.
 */
class TransientSink implements FillSink {
  private readonly hasher: DigestHasher;
  readonly written = 0;
  readonly writableLength = 0;
  readonly errored = null;
  readonly destroyed = false;

  constructor(digest: Digest) {
    this.hasher = new DigestHasher(digest.algorithm);
  }

  get size(): number {
    return this.hasher.size;
  }

  write(chunk: Buffer, callback: () => void): boolean {
    this.hasher.update(chunk);
    callback();
    return true;
  }

  async commit(digest: Digest, size: number, options: { onVerified: () => void }) {
    assertContentMatches(
      { digest, size },
      { digest: this.hasher.digest(), size: this.hasher.size },
    );
    options.onVerified();
    return undefined;
  }

  async cancel(): Promise<void> {
    // Nothing was stored.
  }

  hashedPrefix(): PrefixDigest {
    return this.hasher.peek();
  }

  readWritten(): Promise<Buffer> {
    return Promise.reject(new Error('a fill that keeps nothing has nothing to read back'));
  }

  recycle(): void {
    // It lends no chunks.
  }

  async releaseReader(): Promise<void> {
    // It holds nothing open.
  }
}

/**
 * One upstream download of a blob into the local store, shared by every client that asks for the
 * blob meanwhile. Bytes go to disk as they arrive; each client tails the fill at its own pace (the
 * newest bytes from memory, older ones from the file), so a slow client neither slows the fill nor
 * the others, and the fill goes on when clients leave. The
 * blob becomes visible only after its size and digest are verified, and no client's body ends
 * before that: on a failure every client's stream is destroyed (an aborted response, never a
 * complete-looking corrupt one) and nothing is kept. The one failure clients are carried through
 * is a full disk: each gets the rest of the blob straight from upstream, verified, and checked to
 * begin with the bytes it was already sent.
 *
 * A fill that keeps nothing ({@link BlobFill.transient}: no room on the disk) shares its download
 * the same way, from memory only: a client that falls behind the window gets the rest from its
 * own download, checked the same way.
 */
export class BlobFill {
  /** Settles when the blob is committed (undefined: a fill that keeps nothing) or the fill failed. */
  readonly done: Promise<BlobInfo | undefined>;
  /** Resolves once size and digest are verified (before the commit is durable); rejects on failure. */
  private readonly verified: Promise<void>;
  private settleVerified!: (error?: Error) => void;
  private failure: Error | undefined;
  private finished = false;
  private readers = 0;
  /** Where each client reading from this fill (not from a download of its own) has got to. */
  private readonly positions = new Set<{ offset: number }>();
  private wake: (() => void) | undefined;
  private changed: Promise<void>;
  /** Bytes received from upstream so far (in memory or on disk). */
  private received = 0;
  /** The newest received chunks, oldest first, keeping at most about HANDOFF_WINDOW bytes alive. */
  private window: Array<{ start: number; bytes: Buffer }> = [];
  private windowBytes = 0;

  /**
   * @param kept the bytes go to the local store (else the fill keeps nothing: a client that falls
   *   behind its window gets the rest from its own download).
   */
  private constructor(
    readonly digest: Digest,
    readonly size: number,
    private readonly writer: FillSink,
    upstream: UpstreamBlob,
    private readonly passThrough: PassThrough,
    readonly kept: boolean,
  ) {
    this.changed = new Promise((resolve) => (this.wake = resolve));
    this.verified = new Promise<void>((resolve, reject) => {
      this.settleVerified = (error) => (error ? reject(error) : resolve());
    });
    this.verified.catch(() => undefined);
    // Started on the next turn of the event loop: the clients that asked for the fill take their
    // readers first, so even a fill that keeps nothing and ends at once has them all.
    this.done = new Promise((resolve) => setImmediate(resolve)).then(() => this.run(upstream));
    this.done.catch(() => undefined);
  }

  /**
   * Shares one upstream download of `digest` among its clients without keeping it (the disk is
   * full): verified like any fill.
   */
  static transient(digest: Digest, upstream: UpstreamBlob, passThrough: PassThrough): BlobFill {
    return new BlobFill(
      digest,
      upstream.size,
      new TransientSink(digest),
      upstream,
      passThrough,
      false,
    );
  }

  /**
   * Starts filling `digest` from an upstream response. If the storage says the blob does not fit,
   * or has no room to create its file, the fill keeps nothing ({@link transient}).
   * @throws the upstream's refusal; whatever else creating the local writer throws.
   */
  static async start(
    local: BlobStore,
    digest: Digest,
    upstream: Promise<UpstreamBlob>,
    passThrough: PassThrough,
  ): Promise<BlobFill> {
    // The local file is created, and the free space asked for, while the upstream request is under
    // way (not after its answer): a miss's first byte waits for the slowest, not for all in turn.
    const [writer, answer, room] = await Promise.allSettled([
      local.create({ algorithm: digest.algorithm }),
      upstream,
      local.freeBytes?.(),
    ]);
    const free = room.status === 'fulfilled' ? room.value : undefined;
    // The upstream's refusal (a 401, a 404) says more than a local error.
    if (answer.status === 'rejected') {
      if (writer.status === 'fulfilled') await writer.value.cancel();
      throw answer.reason;
    }
    const upstreamBlob = answer.value;
    if (writer.status === 'rejected' && !isDiskFull(writer.reason)) {
      upstreamBlob.stream.destroy();
      throw writer.reason;
    }
    if (
      writer.status === 'rejected' ||
      (free !== undefined && free < upstreamBlob.size + FREE_SPACE_RESERVE)
    ) {
      if (writer.status === 'fulfilled') await writer.value.cancel();
      return BlobFill.transient(digest, upstreamBlob, passThrough);
    }
    return new BlobFill(digest, upstreamBlob.size, writer.value, upstreamBlob, passThrough, true);
  }

  /** True once the blob is verified and stored (serve it from the local store from then on). */
  get committed(): boolean {
    return this.kept && this.finished && this.failure === undefined;
  }

  /** Bytes of the download held in memory for clients (its window). */
  get heldBytes(): number {
    return this.windowBytes;
  }

  /** True once the fill ended without keeping the blob: a client asking now needs a new one. */
  get spent(): boolean {
    return this.finished && !this.committed;
  }

  private notify(): void {
    const wake = this.wake;
    this.changed = new Promise((resolve) => (this.wake = resolve));
    wake?.();
  }

  private async run(upstream: UpstreamBlob): Promise<BlobInfo | undefined> {
    try {
      for await (const chunk of upstream.stream) {
        const buffer = chunk as Buffer;
        if (this.writer.size + buffer.length > this.size) {
          throw new RegistryError('SIZE_INVALID', 'the upstream sent more bytes than it announced');
        }
        // Buffered writes (batched by the writer); readers are woken as bytes reach storage.
        if (this.writer.errored) throw this.writer.errored;
        this.writer.write(buffer, () => this.notify());
        this.remember(buffer);
        if (this.writer.writableLength >= WRITE_BACKLOG) await this.backlogShrunk();
        if (!this.kept) await this.fastestCaughtUp();
      }
      if (this.writer.size !== this.size) {
        throw new RegistryError('SIZE_INVALID', 'the upstream ended the blob early', {
          detail: { expected: this.size, received: this.writer.size },
        });
      }
      return await this.writer.commit(this.digest, this.size, {
        onVerified: () => this.settleVerified(),
      });
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.settleVerified(this.failure);
      upstream.stream.destroy();
      await this.writer.cancel();
      throw this.failure;
    } finally {
      this.finished = true;
      // A fill that keeps nothing leaves its bytes to the clients still reading them (its readers
      // have no file to go to), until the last is done.
      if (this.kept || this.failure) this.dropWindow();
      this.notify();
      await this.releaseIfIdle();
    }
  }

  /** Adds a received chunk to the hand-off window (dropping the oldest) and wakes the readers. */
  private remember(bytes: Buffer): void {
    this.window.push({ start: this.received, bytes });
    this.received += bytes.length;
    // Counted by the memory each chunk keeps alive (a small slice can hold a larger allocation).
    const retained = (chunk: Buffer | undefined) =>
      chunk ? Math.max(chunk.length, chunk.buffer.byteLength) : 0;
    this.windowBytes += retained(bytes);
    const limit = this.kept ? HANDOFF_WINDOW : TRANSIENT_WINDOW;
    // A fill that keeps nothing also drops what every client has read already.
    const needed = this.kept ? 0 : this.slowest();
    for (;;) {
      const oldest = this.window[0];
      if (this.window.length <= 1 || oldest === undefined) break;
      const read = oldest.start + oldest.bytes.length <= needed;
      if (!read && this.windowBytes - retained(oldest.bytes) < limit) break;
      this.windowBytes -= retained(this.window.shift()?.bytes);
    }
    this.notify();
  }

  /** Up to `length` received bytes at `offset` if they are still in the window (no copy). */
  private fromWindow(offset: number, length: number): Buffer | undefined {
    // Binary search: the window is ordered by start and may hold hundreds of chunks.
    let low = 0;
    let high = this.window.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const { start, bytes } = this.window[middle] as { start: number; bytes: Buffer };
      if (offset < start) high = middle - 1;
      else if (offset >= start + bytes.length) low = middle + 1;
      else return bytes.subarray(offset - start, Math.min(bytes.length, offset - start + length));
    }
    return undefined;
  }

  /**
   * Waits until the writer's backlog is under the budget (each completed write, failed ones
   * included, calls `notify`); throws if the writer failed.
   */
  private async backlogShrunk(): Promise<void> {
    for (;;) {
      if (this.writer.errored || this.writer.destroyed)
        throw this.writer.errored ?? new Error('the blob writer was closed');
      if (this.writer.writableLength < WRITE_BACKLOG) return;
      await this.changed;
    }
  }

  /**
   * Waits until the fastest client is within {@link TRANSIENT_LEAD} of what was received (each
   * client's progress calls `notify`).
   * @throws when no client reads from the fill any more (it keeps nothing: it is of no use).
   */
  private async fastestCaughtUp(): Promise<void> {
    for (;;) {
      let fastest = -1;
      for (const position of this.positions) fastest = Math.max(fastest, position.offset);
      if (fastest < 0) throw new Error('no client reads the download any more');
      if (this.received - fastest < TRANSIENT_LEAD) return;
      await this.changed;
    }
  }

  /** The offset of the slowest client reading from the fill (0 with none). */
  private slowest(): number {
    let slowest = Number.POSITIVE_INFINITY;
    for (const position of this.positions) slowest = Math.min(slowest, position.offset);
    return Number.isFinite(slowest) ? slowest : 0;
  }

  private dropWindow(): void {
    this.window = [];
    this.windowBytes = 0;
  }

  private async releaseIfIdle(): Promise<void> {
    if (this.finished && this.readers === 0) {
      this.dropWindow();
      await this.writer.releaseReader();
    }
  }

  /**
   * Takes back a chunk a {@link reader} emitted, once its write to the client completed: a chunk
   * read back from the file is read into again; one from the upstream is left alone.
   */
  readonly recycle = (chunk: Buffer): void => this.writer.recycle(chunk);

  /**
   * Bytes `offset` to `end` from a download of the client's own, for a client that has received
   * bytes from this fill: that download must begin with every byte this fill received, which the
   * writer hashed whether or not it stored them.
   * @throws the fill's failure when the writer's hash does not cover every received byte.
   */
  private rest(offset: number, end: number): Promise<Readable> {
    const received = this.writer.hashedPrefix();
    if (received.size !== this.received)
      return Promise.reject(this.failure ?? new Error('the fill lost count of its bytes'));
    return this.passThrough({ start: offset, end }, received);
  }

  /** A client's stream of the blob (or of `range`), tailing the fill; it ends only once verified. */
  reader(range?: ByteRange): Readable {
    this.readers += 1;
    const start = range?.start ?? 0;
    const end = range?.end ?? this.size - 1;
    const generate = async function* (this: BlobFill): AsyncGenerator<Buffer> {
      let offset = start;
      const position = { offset };
      this.positions.add(position);
      try {
        while (offset <= end) {
          if (this.failure) throw this.failure;
          const received = Math.min(this.received, end + 1);
          const onDisk = Math.min(this.writer.written, end + 1);
          const inMemory =
            offset < received ? this.fromWindow(offset, received - offset) : undefined;
          if (inMemory || offset < onDisk) {
            const chunk =
              inMemory ??
              (await this.writer.readWritten(offset, Math.min(onDisk - offset, READ_CHUNK)));
            if (chunk.length === 0) throw new Error('the blob being filled could not be read back');
            // The last bytes wait for verification: a body never completes with unverified bytes.
            // (Meanwhile the client needs the rest of the download, not the window: it does not
            // hold back a fill that keeps nothing.)
            if (offset + chunk.length > end) {
              position.offset = Number.POSITIVE_INFINITY;
              if (!this.kept) this.notify();
              await this.verified;
            }
            offset += chunk.length;
            position.offset = Math.max(position.offset, offset);
            // A fill that keeps nothing paces itself to its fastest client.
            if (!this.kept) this.notify();
            yield chunk;
          } else if (!this.kept && offset < received) {
            // Fell behind the window of a fill that keeps nothing: the rest from its own download.
            this.positions.delete(position);
            yield* await this.rest(offset, end);
            return;
          } else if (this.finished) {
            throw this.failure ?? new Error('the fill ended before the requested bytes');
          } else {
            await this.changed;
          }
        }
        await this.verified;
      } catch (error) {
        this.positions.delete(position);
        // The disk filled up (the reading back may fail too, as the file goes): the client is
        // served the rest straight from upstream (verified, not kept).
        if (!isDiskFull(this.failure ?? error)) throw error;
        yield* await (offset === start ? this.passThrough(range) : this.rest(offset, end));
      } finally {
        this.positions.delete(position);
        // (A fill that keeps nothing waits for its clients: this may have been the last.)
        if (!this.kept) this.notify();
        this.readers -= 1;
        await this.releaseIfIdle();
      }
    }.bind(this);
    return Readable.from(generate(), { objectMode: false, highWaterMark: READ_CHUNK });
  }
}

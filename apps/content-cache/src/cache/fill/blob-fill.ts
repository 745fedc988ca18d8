import type { Readable } from 'node:stream';
import type { BlobInfo, TailableBlobStore } from '@dtr-cache/blob-store';
import type { ByteRange, Digest } from '@dtr-cache/registry-protocol';
import type { UpstreamBlob } from '../../upstream/upstream-client';
import { FREE_SPACE_RESERVE, isDiskFull } from './disk-space';
import { downloadInto } from './download-loop';
import { type FillSink, TransientSink } from './fill-sink';
import { FillState } from './fill-state';
import type { PassThrough } from './pass-through';
import type { SharedFill } from './shared-fill';
import { tailReader } from './tail-reader';

/**
 * One upstream download of a blob into the local store, shared by every client that asks for the
 * blob meanwhile. Bytes go to disk as they arrive ({@link downloadInto}); each client tails the
 * fill at its own pace ({@link tailReader}), so a slow client neither slows the fill nor the
 * others, and the fill goes on when clients leave. The blob becomes visible only after its size
 * and digest are verified, and no client's body ends before that: on a failure every client's
 * stream is destroyed (an aborted response, never a complete-looking corrupt one) and nothing is
 * kept. The one failure clients are carried through is a full disk: each gets the rest of the
 * blob from the {@link PassThrough}, verified, and checked to begin with the bytes it was sent.
 *
 * A fill that keeps nothing ({@link BlobFill.transient}: no room on the disk) shares its download
 * the same way, from memory only, paced to its fastest client.
 */
export class BlobFill implements SharedFill {
  /** Settles when the blob is committed (undefined: a fill that keeps nothing) or the fill failed. */
  readonly done: Promise<BlobInfo | undefined>;
  private readonly state: FillState;
  readonly remote = false;

  private constructor(
    digest: Digest,
    sink: FillSink,
    upstream: UpstreamBlob,
    passThrough: PassThrough,
    kept: boolean,
  ) {
    this.state = new FillState(digest, upstream.size, sink, passThrough, kept);
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
    return new BlobFill(digest, new TransientSink(digest), upstream, passThrough, false);
  }

  /**
   * Starts filling `digest` from an upstream response into `local`. If the storage says the blob
   * does not fit, or has no room to create its file, the fill keeps nothing ({@link transient}).
   * @throws the upstream's refusal; whatever else creating the local writer throws.
   */
  static async start(
    local: Pick<TailableBlobStore, 'createTailable'> & {
      freeBytes?(): Promise<number | undefined>;
    },
    digest: Digest,
    upstream: Promise<UpstreamBlob>,
    passThrough: PassThrough,
  ): Promise<BlobFill> {
    // The local file is created, and the free space asked for, while the upstream request is under
    // way (not after its answer): a miss's first byte waits for the slowest, not for all in turn.
    const [writer, answer, room] = await Promise.allSettled([
      local.createTailable({ algorithm: digest.algorithm }),
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
    return new BlobFill(digest, writer.value, upstreamBlob, passThrough, true);
  }

  get digest(): Digest {
    return this.state.digest;
  }

  get size(): number {
    return this.state.size;
  }

  /** True if the bytes go to the local store; false for a fill that keeps nothing. */
  get kept(): boolean {
    return this.state.kept;
  }

  /** True once the blob is verified and stored (serve it from the local store from then on). */
  get committed(): boolean {
    return this.state.kept && this.state.finished && this.state.failure === undefined;
  }

  /** The storage key of the file the bytes go to; undefined for a fill that keeps nothing. */
  get key(): string | undefined {
    return this.state.sink.key;
  }

  /** Bytes stored so far (readable from the file). */
  get written(): number {
    return this.state.sink.written;
  }

  /** Resolves once size and digest are verified; rejects if the fill failed. */
  get verified(): Promise<void> {
    return this.state.verified;
  }

  /** Resolves at the fill's next change: bytes received or stored, a client moved, the end. */
  get changed(): Promise<void> {
    return this.state.signal.changed;
  }

  /** Bytes of the download held in memory for clients (its window). */
  get heldBytes(): number {
    return this.state.window.bytes;
  }

  /** True once the fill ended without keeping the blob: a client asking now needs a new one. */
  get spent(): boolean {
    return this.state.finished && !this.committed;
  }

  /** A client's stream of the blob (or of `range`), tailing the fill; it ends only once verified. */
  reader(range?: ByteRange): Readable {
    return tailReader(this.state, range);
  }

  /**
   * Takes back a chunk a {@link reader} emitted, once its write to the client completed: a chunk
   * read back from the file is read into again; one from the upstream is left alone.
   */
  readonly recycle = (chunk: Buffer): void => this.state.sink.recycle(chunk);

  private async run(upstream: UpstreamBlob): Promise<BlobInfo | undefined> {
    const fill = this.state;
    try {
      await downloadInto(fill, upstream.stream);
      return await fill.sink.commit(fill.digest, fill.size, { onVerified: () => fill.settle() });
    } catch (error) {
      fill.failure = error instanceof Error ? error : new Error(String(error));
      fill.settle(fill.failure);
      upstream.stream.destroy();
      await fill.sink.cancel();
      throw fill.failure;
    } finally {
      fill.finished = true;
      // A fill that keeps nothing leaves its bytes to the clients still reading them (its readers
      // have no file to go to), until the last is done.
      if (fill.kept || fill.failure) fill.window.clear();
      fill.signal.notify();
      await fill.releaseIfIdle();
    }
  }
}

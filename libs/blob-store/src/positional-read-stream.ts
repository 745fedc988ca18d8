import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { type BufferPool, READ_BUFFERS } from './buffer-pool';
import type { FileBackedReadable, FileRegion, RecyclingReadable } from './storage-driver';

/** Largest chunk read at once: the size of a read buffer. */
const READ_CHUNK = READ_BUFFERS.bufferSize;
/**
 * How long small chunks read ahead are kept for a paused consumer. A consumer writing to a socket
 * pauses for every chunk that does not go out at once (over TLS, every chunk: its write completes
 * a turn of the event loop later); one whose client stopped reading stays paused.
 */
const AHEAD_GRACE_MS = 50;
/**
 * Small chunks read at once (one `readv`), at most a large chunk's worth. One read per 64 KiB chunk
 * cost 3.5 times the CPU per byte of 1 MiB reads (a thread pool round trip each), four at a time
 * 1.7 times, sixteen 1.3 times.
 */
const AHEAD_CHUNKS = 16;

/**
 * Reads `[position, end)` of a shared file handle with positional reads. Unlike `fs.ReadStream`, it
 * never closes the handle (destroying an `fs.ReadStream` closes its descriptor even with
 * `autoClose: false`); `done` runs once, after the last read has returned. Large chunks are read
 * into the pool's buffers, which a consumer hands back with `recycle`.
 *
 * A consumer may ask for smaller chunks ({@link setReadSize}: a transport whose client has not yet
 * shown that it takes its bytes). They are read {@link AHEAD_CHUNKS} at a time, at most a large
 * chunk's worth (one `readv` into the pool's small buffers), and emitted one by one. No read starts
 * while the consumer is paused, and what was read ahead is given back once it stays paused for
 * {@link AHEAD_GRACE_MS}: its bytes are read again, one small chunk at a time, when it resumes. So a
 * consumer that stopped holds the chunks it was
 * given, and nothing more. With large chunks, one chunk is read ahead of a paused consumer.
 *
 * Of the large chunks it emitted and did not have back, the newest two count as lent by the pool;
 * older ones, and all of them once the stream is destroyed before its end, are presumed dropped
 * by the consumer (the pool stops counting them).
 */
export class PositionalReadStream
  extends Readable
  implements RecyclingReadable, FileBackedReadable
{
  /** The region this stream reads, for a consumer that sends it itself instead (sendfile). */
  readonly fileRegion: FileRegion;
  private pending: Promise<unknown> = Promise.resolve();
  private readSize = READ_CHUNK;
  /** Small chunks read and not emitted yet, in file order, ending at `position`. */
  private readonly ahead: Buffer[] = [];
  /** Whether small chunks are read {@link AHEAD_CHUNKS} at a time (until the consumer stalls). */
  private batched = true;
  private paused = false;
  /** A read asked for while paused, made once the consumer resumes. */
  private deferred = false;
  private dropTimer: NodeJS.Timeout | undefined;
  /** Large chunks emitted and not handed back yet, oldest first (at most two). */
  private readonly held: Buffer[] = [];

  constructor(
    private readonly handle: FileHandle,
    private position: number,
    private readonly end: number,
    private readonly buffers: BufferPool,
    private readonly done: () => void,
  ) {
    // One chunk read ahead of a paused consumer, at most (none for small chunks: see _read).
    super({ highWaterMark: 1 });
    this.fileRegion = { fd: handle.fd, offset: position, length: Math.max(0, end - position) };
  }

  /** Makes later reads at most `bytes` long (at most {@link READ_CHUNK}, the default). */
  setReadSize(bytes: number): void {
    this.readSize = Math.max(1, Math.min(READ_CHUNK, Math.floor(bytes)));
  }

  recycle(chunk: Buffer): void {
    const index = this.held.findIndex((held) => held.buffer === chunk.buffer);
    if (index !== -1) this.held.splice(index, 1);
    this.buffers.give(chunk);
  }

  override pause(): this {
    this.paused = true;
    if (this.ahead.length > 0 && this.dropTimer === undefined) {
      this.dropTimer = setTimeout(() => {
        this.dropTimer = undefined;
        if (this.paused) this.dropAhead();
      }, AHEAD_GRACE_MS);
    }
    return super.pause();
  }

  override resume(): this {
    this.paused = false;
    clearTimeout(this.dropTimer);
    this.dropTimer = undefined;
    super.resume();
    if (this.deferred) {
      this.deferred = false;
      process.nextTick(() => this.readSmall());
    }
    return this;
  }

  override _read(): void {
    if (this.readSize < READ_CHUNK) {
      // Nothing is read ahead of a paused consumer: the read waits for it to resume.
      if (this.paused) this.deferred = true;
      else this.readSmall();
      return;
    }
    if (this.ahead.length > 0) {
      this.emitAhead();
      return;
    }
    const length = Math.min(this.readSize, this.end - this.position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    // (Beyond the pool's budget of lent memory, the buffer may be shorter than asked for.)
    const buffer = this.buffers.bufferFor(length);
    this.pending = this.handle.read(buffer, 0, Math.min(length, buffer.length), this.position).then(
      ({ bytesRead }) => {
        if (this.destroyed || bytesRead === 0) {
          this.buffers.give(buffer);
          if (!this.destroyed)
            this.destroy(new Error('the file is shorter than it was when opened'));
          return;
        }
        this.position += bytesRead;
        if (this.held.length >= 2) this.buffers.disown(this.held.shift() as Buffer);
        this.held.push(buffer);
        this.push(bytesRead < buffer.length ? buffer.subarray(0, bytesRead) : buffer);
        if (this.position >= this.end) this.push(null);
      },
      (error: Error) => {
        this.buffers.give(buffer);
        this.destroy(error);
      },
    );
  }

  /** Emits the next small chunk: one read ahead, or one read now. */
  private readSmall(): void {
    if (this.destroyed) return;
    if (this.ahead.length > 0) this.emitAhead();
    // (Next tick: the chunks just emitted may have been handed back by then, to read into.)
    else process.nextTick(() => this.readAhead());
  }

  /** Reads the next small chunk, or a batch of them, and emits one. */
  private readAhead(): void {
    if (this.destroyed) return;
    if (this.paused) {
      this.deferred = true;
      return;
    }
    const length = Math.min(
      this.batched ? Math.min(AHEAD_CHUNKS * this.readSize, READ_CHUNK) : this.readSize,
      this.end - this.position,
    );
    if (length <= 0) {
      this.push(null);
      return;
    }
    const parts: Buffer[] = [];
    for (let offset = 0; offset < length;) {
      const buffer = this.buffers.bufferFor(Math.min(this.readSize, length - offset));
      const part = buffer.subarray(0, Math.min(this.readSize, length - offset));
      parts.push(part);
      offset += part.length;
    }
    this.pending = this.handle.readv(parts, this.position).then(
      ({ bytesRead }) => {
        if (this.destroyed || bytesRead === 0) {
          for (const part of parts) this.buffers.give(part);
          if (!this.destroyed)
            this.destroy(new Error('the file is shorter than it was when opened'));
          return;
        }
        this.position += bytesRead;
        let left = bytesRead;
        for (const part of parts) {
          if (left > 0) this.ahead.push(left < part.length ? part.subarray(0, left) : part);
          else this.buffers.give(part);
          left -= part.length;
        }
        if (this.paused) {
          // Paused meanwhile: read for it when it resumes, and not kept long if it does not.
          this.deferred = true;
          this.pause();
        } else this.emitAhead();
      },
      (error: Error) => {
        for (const part of parts) this.buffers.give(part);
        this.destroy(error);
      },
    );
  }

  private emitAhead(): void {
    this.push(this.ahead.shift() as Buffer);
    if (this.ahead.length === 0 && this.position >= this.end) this.push(null);
  }

  /** Gives back what was read ahead (read again later, a small chunk at a time). */
  private dropAhead(): void {
    for (const chunk of this.ahead.splice(0)) {
      this.position -= chunk.length;
      this.buffers.give(chunk);
    }
    this.batched = false;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.dropTimer);
    void this.pending.finally(() => {
      for (const chunk of this.ahead.splice(0)) this.buffers.give(chunk);
      // Cut short: the consumer will not write out, nor hand back, what it holds.
      if (!this.readableEnded) for (const chunk of this.held.splice(0)) this.buffers.disown(chunk);
      this.done();
      callback(error);
    });
  }
}

/** Options of a {@link BufferPool}. */
export interface BufferPoolOptions {
  /** Size of every buffer in the pool, in bytes. */
  readonly bufferSize: number;
  /** The most buffers kept for reuse; more given back are left to the garbage collector. */
  readonly maxFree: number;
}

/**
 * The storage's read buffers: the largest chunk read at once, and how many free ones are kept
 * (enough for a few clients' chunks in flight each).
 */
export const READ_BUFFERS: BufferPoolOptions = { bufferSize: 1024 * 1024, maxFree: 8 };

/**
 * Fixed-size buffers for file reads, reused once their bytes have been written out. Reading a large
 * blob allocated a fresh 1 MiB buffer per chunk before: each one new memory for the kernel to map and
 * zero, then unmap, which halved the throughput of warm pulls on the benchmark machine. Only a
 * buffer this pool handed out, and has not had back since, is taken back: a foreign buffer or a
 * second return is ignored, so a consumer's mistake cannot put one buffer in two hands.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  /** Memory of the buffers handed out and not returned yet. */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private takenSinceTrim = false;

  constructor(private readonly options: BufferPoolOptions) {}

  /** Buffers kept for reuse now (for tests). */
  get freeCount(): number {
    return this.free.length;
  }

  /**
   * A buffer of at least `length` bytes for a read: one of the pool's for a large read that fits
   * in one, else one of its own size (a small read would tie up a large buffer). Contents
   * unspecified.
   */
  bufferFor(length: number): Buffer {
    const { bufferSize } = this.options;
    return length >= bufferSize / 4 && length <= bufferSize
      ? this.take()
      : Buffer.allocUnsafe(length);
  }

  /** A buffer of `bufferSize` bytes, with unspecified contents: reused if one is free. */
  take(): Buffer {
    this.takenSinceTrim = true;
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.options.bufferSize);
    this.lent.add(buffer.buffer as ArrayBuffer);
    return buffer;
  }

  /**
   * Takes back a buffer from {@link take}, or a part of one (`subarray`). The caller must not use
   * it, nor anything sharing its memory, afterwards.
   */
  give(chunk: Buffer): void {
    const memory = chunk.buffer;
    if (!(memory instanceof ArrayBuffer) || !this.lent.delete(memory)) return;
    if (this.free.length < this.options.maxFree) this.free.push(Buffer.from(memory));
  }

  /** Lets the free buffers go if none was taken since the last trim (call it periodically). */
  trim(): void {
    if (!this.takenSinceTrim) this.free.length = 0;
    this.takenSinceTrim = false;
  }
}

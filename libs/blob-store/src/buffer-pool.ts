/** Options of a {@link BufferPool}. */
export interface BufferPoolOptions {
  /** Size of the pool's (large) buffers, in bytes. */
  readonly bufferSize: number;
  /** The most buffers kept for reuse; more given back are left to the garbage collector. */
  readonly maxFree: number;
  /**
   * The most bytes of large buffers lent at once (handed out and not back yet). Beyond it a large
   * read gets a small buffer instead, so the memory of reads stays bounded whatever their
   * consumers do (a consumer whose client stopped reading keeps its chunk). Default: no limit.
   */
  readonly maxLent?: number;
  /**
   * Size of the pool's small buffers: a read of up to this many bytes (and at least a quarter of
   * it) gets one, and so does a large read beyond `maxLent`. Default: no small buffers.
   */
  readonly smallSize?: number;
  /** Memory allocated for each small buffer, at least `smallSize` (see {@link READ_BUFFERS}). */
  readonly smallAllocation?: number;
  /** The most small buffers kept for reuse (default: `maxFree`). */
  readonly maxFreeSmall?: number;
}

/**
 * The storage's read buffers: the largest chunk read at once (1 MiB), how many free ones are kept
 * (enough for a few clients' chunks in flight each), and how many may be lent at once (64 MiB;
 * beyond it large reads are 64 KiB). Small reads (16 to 64 KiB: what a transport reads for a
 * client that has not shown it keeps up) get 64 KiB buffers, each allocated 128 KiB: at glibc's
 * mmap threshold as the servers run (`MALLOC_MMAP_THRESHOLD_=131072`), so each is mapped alone
 * and its memory goes back to the system when it is freed (the half never touched takes none).
 * From the heap, 1000 stalled clients' 64 KiB chunks stayed resident after they left (+90 MB).
 */
export const READ_BUFFERS: BufferPoolOptions = {
  bufferSize: 1024 * 1024,
  maxFree: 8,
  maxLent: 64 * 1024 * 1024,
  smallSize: 64 * 1024,
  smallAllocation: 128 * 1024,
  maxFreeSmall: 128,
};

/**
 * Fixed-size buffers for file reads, reused once their bytes have been written out. Reading a large
 * blob allocated a fresh 1 MiB buffer per chunk before: each one new memory for the kernel to map and
 * zero, then unmap, which halved the throughput of warm pulls on the benchmark machine. Only a
 * buffer this pool handed out, and has not had back since, is taken back: a foreign buffer or a
 * second return is ignored, so a consumer's mistake cannot put one buffer in two hands.
 *
 * Large buffers lent at once are bounded (`maxLent`): one counts until it is given back,
 * {@link disown}ed, or garbage-collected (a consumer may simply drop it). Small buffers (for small
 * reads, and for large ones beyond that bound) are pooled the same way, and not counted.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly freeSmall: Buffer[] = [];
  /** Memory of the buffers handed out and not returned yet. */
  private readonly lent = new WeakSet<ArrayBuffer>();
  /** Buffers lent and neither returned, disowned nor collected. */
  private lentCount = 0;
  /** Counts a lent buffer out when it is collected without having been returned. */
  private readonly collected = new FinalizationRegistry<undefined>(() => {
    this.lentCount -= 1;
  });
  private readonly maxLentCount: number;
  private takenSinceTrim = false;

  constructor(private readonly options: BufferPoolOptions) {
    this.maxLentCount = Math.floor((options.maxLent ?? Infinity) / options.bufferSize);
    if ((options.smallAllocation ?? 0) >= options.bufferSize)
      throw new Error('a small buffer must take less memory than a large one');
  }

  /** Buffers kept for reuse now (for tests). */
  get freeCount(): number {
    return this.free.length;
  }

  /** Small buffers kept for reuse now (for tests). */
  get freeSmallCount(): number {
    return this.freeSmall.length;
  }

  /** Bytes of the pool's buffers lent now (for tests and metrics). */
  get lentBytes(): number {
    return this.lentCount * this.options.bufferSize;
  }

  /**
   * A buffer for a read of up to `length` bytes: one of the pool's large ones for a large read
   * (from a quarter of `bufferSize`) while fewer than `maxLent` bytes are lent, one of its small
   * ones for a small read (a quarter of `smallSize` to `smallSize`); else one of its own size (a
   * read would not tie up a pooled buffer much larger than itself). Beyond `maxLent` a large read
   * gets a small buffer: the buffer may then be shorter than `length` (read that much, and the rest
   * later). Contents unspecified.
   */
  bufferFor(length: number): Buffer {
    const { bufferSize, smallSize = 0 } = this.options;
    if (length >= bufferSize / 4 && length <= bufferSize) {
      if (this.lentCount < this.maxLentCount) return this.take();
      if (smallSize > 0) return this.takeSmall();
      return Buffer.allocUnsafe(Math.min(length, bufferSize / 4));
    }
    if (smallSize > 0 && length >= smallSize / 4 && length <= smallSize) return this.takeSmall();
    return Buffer.allocUnsafe(length);
  }

  /**
   * A buffer of `bufferSize` bytes, with unspecified contents: reused if one is free. Counts as
   * lent (even beyond `maxLent`: {@link bufferFor} is the bounded way to read).
   */
  take(): Buffer {
    this.takenSinceTrim = true;
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.options.bufferSize);
    const memory = buffer.buffer as ArrayBuffer;
    this.lent.add(memory);
    this.lentCount += 1;
    this.collected.register(memory, undefined, memory);
    return buffer;
  }

  /**
   * Takes back a buffer from {@link take}, or a part of one (`subarray`). The caller must not use
   * it, nor anything sharing its memory, afterwards.
   */
  give(chunk: Buffer): void {
    if (!this.release(chunk)) return;
    const memory = chunk.buffer as ArrayBuffer;
    if (memory.byteLength === this.options.bufferSize) {
      if (this.free.length < this.options.maxFree) this.free.push(Buffer.from(memory));
    } else if (this.freeSmall.length < (this.options.maxFreeSmall ?? this.options.maxFree)) {
      this.freeSmall.push(Buffer.from(memory, 0, this.options.smallSize));
    }
  }

  /**
   * Stops counting a lent buffer (or a part of one) that will not come back: its holder keeps it,
   * and the garbage collector frees it. Returning it afterwards is ignored.
   */
  disown(chunk: Buffer): void {
    this.release(chunk);
  }

  /** Lets the free buffers go if none was taken since the last trim (call it periodically). */
  trim(): void {
    if (!this.takenSinceTrim) {
      this.free.length = 0;
      this.freeSmall.length = 0;
    }
    this.takenSinceTrim = false;
  }

  /** A small buffer (`smallSize` bytes), reused if one is free; not counted against `maxLent`. */
  private takeSmall(): Buffer {
    this.takenSinceTrim = true;
    const { smallSize = 0, smallAllocation = smallSize } = this.options;
    const buffer =
      this.freeSmall.pop() ?? Buffer.allocUnsafeSlow(smallAllocation).subarray(0, smallSize);
    this.lent.add(buffer.buffer as ArrayBuffer);
    return buffer;
  }

  /** Ends the loan of `chunk`'s memory; false if it was not lent by this pool. */
  private release(chunk: Buffer): boolean {
    const memory = chunk.buffer;
    if (!(memory instanceof ArrayBuffer) || !this.lent.delete(memory)) return false;
    if (memory.byteLength === this.options.bufferSize) {
      this.lentCount -= 1;
      this.collected.unregister(memory);
    }
    return true;
  }
}

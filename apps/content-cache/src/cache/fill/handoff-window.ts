/**
 * The newest bytes of a fill, in memory: the upstream's own chunks (not copies), oldest first.
 * Clients that keep up take their bytes from here as they arrive, without waiting for the disk
 * write or reading them back. Bounded by the memory the chunks keep alive.
 */
export class HandoffWindow {
  private chunks: Array<{ start: number; bytes: Buffer }> = [];
  private retainedBytes = 0;
  private receivedBytes = 0;

  /** @param limit bytes of memory the window keeps alive at most (beyond its newest chunk). */
  constructor(private readonly limit: number) {}

  /** Bytes received so far (in the window or dropped from it). */
  get received(): number {
    return this.receivedBytes;
  }

  /** Memory the window keeps alive now. */
  get bytes(): number {
    return this.retainedBytes;
  }

  /**
   * Adds the next received chunk, then drops the oldest ones beyond the limit, and also those
   * wholly before `needed` (what every client has read already; 0 keeps them).
   */
  push(bytes: Buffer, needed = 0): void {
    this.chunks.push({ start: this.receivedBytes, bytes });
    this.receivedBytes += bytes.length;
    this.retainedBytes += retained(bytes);
    for (;;) {
      const oldest = this.chunks[0];
      if (this.chunks.length <= 1 || oldest === undefined) break;
      const read = oldest.start + oldest.bytes.length <= needed;
      if (!read && this.retainedBytes - retained(oldest.bytes) < this.limit) break;
      this.retainedBytes -= retained(this.chunks.shift()?.bytes);
    }
  }

  /** Up to `length` received bytes at `offset` if they are still in the window (no copy). */
  slice(offset: number, length: number): Buffer | undefined {
    // Binary search: the window is ordered by start and may hold hundreds of chunks.
    let low = 0;
    let high = this.chunks.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const { start, bytes } = this.chunks[middle] as { start: number; bytes: Buffer };
      if (offset < start) high = middle - 1;
      else if (offset >= start + bytes.length) low = middle + 1;
      else return bytes.subarray(offset - start, Math.min(bytes.length, offset - start + length));
    }
    return undefined;
  }

  /** Drops every chunk (the count of received bytes stays). */
  clear(): void {
    this.chunks = [];
    this.retainedBytes = 0;
  }
}

/** The memory a chunk keeps alive: a small slice can hold a larger allocation. */
function retained(chunk: Buffer | undefined): number {
  return chunk ? Math.max(chunk.length, chunk.buffer.byteLength) : 0;
}

import type { FileHandle } from 'node:fs/promises';
import type { BufferPool } from './buffer-pool';
import type { TailedFile } from './storage-driver';

/** A {@link TailedFile} of the filesystem driver: positional reads on its own descriptor. */
export class TailedFileHandle implements TailedFile {
  private closed = false;

  constructor(
    private readonly handle: FileHandle,
    private readonly buffers: BufferPool,
  ) {}

  async readAt(offset: number, length: number): Promise<Buffer> {
    if (this.closed) throw new Error('the tailed file is closed');
    // (Beyond the pool's budget of lent memory, the buffer may be shorter: fewer bytes are read.)
    const buffer = this.buffers.bufferFor(length);
    try {
      const { bytesRead } = await this.handle.read(
        buffer,
        0,
        Math.min(length, buffer.length),
        offset,
      );
      return buffer.subarray(0, bytesRead);
    } catch (error) {
      this.buffers.give(buffer);
      throw error;
    }
  }

  recycle(chunk: Buffer): void {
    this.buffers.give(chunk);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

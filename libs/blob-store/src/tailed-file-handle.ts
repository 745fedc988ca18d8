import type { FileHandle } from 'node:fs/promises';
import type { BufferPool } from './buffer-pool';
import { readPooled } from './pooled-read';
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
    return readPooled(this.handle, this.buffers, offset, length);
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

import { type FileHandle, open, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { BufferPool } from './buffer-pool';
import { readPooled } from './pooled-read';
import type { TempFile } from './storage-driver';

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * A temp file of the {@link FilesystemDriver}: positional writes (so a reopened file goes on at
 * its end), read back while written (`readAt`), closed and kept for reopening (`close`), or
 * removed (`discard`).
 */
export class FilesystemTempFile implements TempFile {
  private closed = false;
  private reader: Promise<FileHandle> | undefined;
  /** Writes in flight (one at a time, as the blob writer makes them). */
  private writing: Promise<unknown> = Promise.resolve();

  /** @param position where the next write goes: 0 for a new file, its size for a reopened one. */
  constructor(
    readonly key: string,
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly buffers: BufferPool,
    private position = 0,
  ) {}

  write(chunks: readonly Buffer[]): Promise<void> {
    const written = this.writeAll(chunks);
    this.writing = written.catch(() => undefined);
    return written;
  }

  private async writeAll(chunks: readonly Buffer[]): Promise<void> {
    if (this.closed) throw new Error(`temp file ${this.key} is closed`);
    let remaining = chunks.filter((chunk) => chunk.length > 0);
    while (remaining.length > 0) {
      const { bytesWritten } = await this.handle.writev(remaining, this.position);
      this.position += bytesWritten;
      remaining = skipWritten(remaining, bytesWritten);
    }
  }

  async close(): Promise<void> {
    await this.writing;
    await this.closeReader();
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  async sync(): Promise<void> {
    if (this.closed) throw new Error(`temp file ${this.key} is closed`);
    await this.handle.sync();
    this.closed = true;
    await this.handle.close();
  }

  async read(): Promise<Readable> {
    if (!this.closed) throw new Error(`temp file ${this.key} is not synced`);
    const handle = await open(this.path, 'r');
    return handle.createReadStream({ highWaterMark: 256 * 1024, autoClose: true });
  }

  /** Where `move` published the file (set before the rename): reads continue from there. */
  movedTo: string | undefined;

  async readAt(offset: number, length: number): Promise<Buffer> {
    this.reader ??= this.openReader();
    const handle = await this.reader;
    return readPooled(handle, this.buffers, offset, length);
  }

  recycle(chunk: Buffer): void {
    this.buffers.give(chunk);
  }

  /** Opens the file for reading where it is: a read first asked for after `move` still works. */
  private async openReader(): Promise<FileHandle> {
    try {
      return await open(this.path, 'r');
    } catch (error) {
      if (isNotFound(error) && this.movedTo !== undefined) return open(this.movedTo, 'r');
      throw error;
    }
  }

  async closeReader(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    if (reader) await (await reader.catch(() => undefined))?.close();
  }

  async discard(): Promise<void> {
    await this.closeReader();
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await rm(this.path, { force: true });
  }
}

function skipWritten(chunks: readonly Buffer[], bytesWritten: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = bytesWritten;
  for (const chunk of chunks) {
    if (skip >= chunk.length) skip -= chunk.length;
    else {
      rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
      skip = 0;
    }
  }
  return rest;
}

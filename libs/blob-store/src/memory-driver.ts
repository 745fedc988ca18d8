import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  assertValidKey,
  type FileInfo,
  FileNotFoundError,
  type SetAsideFile,
  type StorageDriver,
  type TailedFile,
  type TempFile,
  type TempFileInfo,
} from './storage-driver';

interface MemoryFile {
  readonly data: Buffer;
  lastAccessedAt: Date;
}

const CHUNK_SIZE = 64 * 1024;

class MemoryTempFile implements TempFile {
  chunks: Buffer[] = [];
  synced = false;
  discarded = false;
  /** Closed (kept for {@link MemoryDriver.reopenTemp}). */
  closed = false;
  modifiedAt = new Date();

  /** @param leave takes the file out of its driver's temporary area (on discard). */
  constructor(
    readonly key: string,
    private readonly leave: (temp: MemoryTempFile) => void,
  ) {}

  async write(chunks: readonly Buffer[]): Promise<void> {
    if (this.synced || this.discarded || this.closed)
      throw new Error(`temp file ${this.key} is closed`);
    for (const chunk of chunks) this.chunks.push(Buffer.from(chunk));
    this.modifiedAt = new Date();
  }

  get size(): number {
    return this.chunks.reduce((total, chunk) => total + chunk.length, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async sync(): Promise<void> {
    if (this.discarded) throw new Error(`temp file ${this.key} is closed`);
    this.synced = true;
  }

  async read(): Promise<Readable> {
    if (!this.synced || this.discarded) throw new Error(`temp file ${this.key} is not synced`);
    return Readable.from(this.chunks);
  }

  async readAt(offset: number, length: number): Promise<Buffer> {
    if (this.discarded) throw new Error(`temp file ${this.key} is discarded`);
    const parts: Buffer[] = [];
    let position = 0;
    for (const chunk of this.chunks) {
      const end = position + chunk.length;
      if (end > offset && position < offset + length) {
        parts.push(
          chunk.subarray(
            Math.max(0, offset - position),
            Math.min(chunk.length, offset + length - position),
          ),
        );
      }
      position = end;
    }
    return Buffer.concat(parts);
  }

  async closeReader(): Promise<void> {
    // Nothing is held open: the chunks stay readable until discard.
  }

  async discard(): Promise<void> {
    this.discarded = true;
    this.chunks = [];
    this.leave(this);
  }
}

/**
 * Keeps files in memory: for tests and the `inmemory` storage driver. Contents are lost on exit.
 * (This driver holds whole files in memory by design; it is not for production.)
 */
export class MemoryDriver implements StorageDriver {
  readonly name = 'inmemory';
  private readonly files = new Map<string, MemoryFile>();
  private readonly temps = new Set<MemoryTempFile>();

  async stat(key: string): Promise<FileInfo | undefined> {
    assertValidKey(key);
    const file = this.files.get(key);
    return file && { key, size: file.data.length, lastAccessedAt: file.lastAccessedAt };
  }

  async read(
    key: string,
    range: { offset: number; length?: number } = { offset: 0 },
  ): Promise<Readable> {
    assertValidKey(key);
    const file = this.files.get(key);
    if (!file) throw new FileNotFoundError(key);
    const end =
      range.length === undefined
        ? file.data.length
        : Math.min(file.data.length, range.offset + range.length);
    const data = file.data.subarray(range.offset, end);
    return Readable.from(
      (function* () {
        for (let offset = 0; offset < data.length; offset += CHUNK_SIZE)
          yield data.subarray(offset, offset + CHUNK_SIZE);
      })(),
    );
  }

  async createTemp(): Promise<TempFile> {
    const temp = new MemoryTempFile(`tmp/${randomUUID()}.part`, (left) => this.temps.delete(left));
    this.temps.add(temp);
    return temp;
  }

  async reopenTemp(key: string, size: number): Promise<TempFile> {
    const temp = [...this.temps].find((candidate) => candidate.key === key);
    if (!temp || !temp.closed || temp.synced || temp.size < size) throw new FileNotFoundError(key);
    temp.chunks = [Buffer.concat(temp.chunks).subarray(0, size)];
    temp.closed = false;
    return temp;
  }

  async openTailed(tempKey: string, publishedKey: string): Promise<TailedFile> {
    assertValidKey(tempKey);
    assertValidKey(publishedKey);
    const temp = [...this.temps].find((candidate) => candidate.key === tempKey);
    if (temp && !temp.discarded)
      return {
        readAt: (offset, length) => temp.readAt(offset, length),
        close: async () => undefined,
      };
    const published = this.files.get(publishedKey);
    if (!published) throw new FileNotFoundError(tempKey);
    const data = published.data;
    return {
      readAt: async (offset, length) =>
        data.subarray(offset, Math.min(data.length, offset + length)),
      close: async () => undefined,
    };
  }

  async move(temp: TempFile, key: string): Promise<void> {
    assertValidKey(key);
    if (!(temp instanceof MemoryTempFile) || !this.temps.has(temp) || temp.discarded) {
      throw new FileNotFoundError(temp.key);
    }
    this.files.set(key, { data: Buffer.concat(temp.chunks), lastAccessedAt: new Date() });
    this.temps.delete(temp);
  }

  async delete(key: string): Promise<boolean> {
    assertValidKey(key);
    return this.files.delete(key);
  }

  async close(): Promise<void> {
    // Nothing is held open.
  }

  async setAside(key: string): Promise<SetAsideFile | undefined> {
    assertValidKey(key);
    const file = this.files.get(key);
    if (!file) return undefined;
    this.files.delete(key);
    return {
      info: { key, size: file.data.length, lastAccessedAt: file.lastAccessedAt },
      restore: async () => void this.files.set(key, file),
      discard: async () => undefined,
    };
  }

  async touch(key: string, at: Date): Promise<boolean> {
    assertValidKey(key);
    const file = this.files.get(key);
    if (file) file.lastAccessedAt = at;
    return file !== undefined;
  }

  async *list(prefix: string): AsyncIterable<FileInfo> {
    for (const [key, file] of [...this.files]) {
      if (key.startsWith(prefix))
        yield { key, size: file.data.length, lastAccessedAt: file.lastAccessedAt };
    }
  }

  async removeTempFiles(keep?: (file: TempFileInfo) => boolean): Promise<number> {
    const temps = [...this.temps].filter(
      (temp) => !keep?.({ key: temp.key, size: temp.size, modifiedAt: temp.modifiedAt }),
    );
    for (const temp of temps) await temp.discard();
    return temps.length;
  }
}

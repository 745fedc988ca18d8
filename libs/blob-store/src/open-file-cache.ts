import { type FileHandle, open } from 'node:fs/promises';
import { BufferPool, READ_BUFFERS } from './buffer-pool';
import { PositionalReadStream } from './positional-read-stream';
import type { RecyclingReadable } from './storage-driver';

/** Options of an {@link OpenFileCache}. */
export interface OpenFileCacheOptions {
  /** How many files are kept open at most (0 disables the cache). */
  capacity: number;
  /**
   * How long an open file is trusted without looking at the path again. Bounds how long a file
   * removed behind the driver's back (not through it) can still be served.
   */
  validMs: number;
}

/** One open file: its handle, what `fstat` said when it was opened, and who is reading it. */
interface OpenFile {
  readonly handle: FileHandle;
  readonly size: number;
  lastModified: Date;
  readonly openedAt: number;
  readers: number;
  /** Set once the entry left the cache; the handle closes when the last reader is done. */
  retired: boolean;
}

/** Size and last-modified time of a cached open file. */
export interface OpenFileInfo {
  readonly size: number;
  readonly lastModified: Date;
}

/**
 * Keeps recently read files open (like nginx's `open_file_cache`), so a hot file costs no `stat`,
 * `open` or `close` per read: reads are positional on a shared descriptor. Safe for the driver's
 * files because a published file is never rewritten in place — it is only replaced (rename) or
 * removed, and the driver {@link invalidate}s the path first. A descriptor is closed only after its
 * last reader is done, so a read never lands on a closed (or reused) descriptor.
 */
export class OpenFileCache {
  private readonly files = new Map<string, OpenFile>();
  private readonly opening = new Map<string, Promise<OpenFile>>();
  /** Paths invalidated while being opened: that open must not enter the cache. */
  private readonly doomed = new Set<string>();
  private readonly timer: NodeJS.Timeout | undefined;
  /**
   * @param buffers read buffers ({@link READ_BUFFERS}), reused once the consumer has written
   *   their bytes out (see `recycle`); trimmed on this cache's timer.
   */
  constructor(
    private readonly options: OpenFileCacheOptions,
    private readonly buffers = new BufferPool(READ_BUFFERS),
  ) {
    if (options.capacity > 0) {
      this.timer = setInterval(() => {
        this.retireStale(Date.now());
        this.buffers.trim();
      }, options.validMs);
      this.timer.unref();
    }
  }

  /** Size and mtime of `path` if it is open and still trusted; nothing otherwise (no I/O). */
  peek(path: string): OpenFileInfo | undefined {
    const file = this.fresh(path);
    return file && { size: file.size, lastModified: file.lastModified };
  }

  /** Records a new mtime for an open file (after the driver changed it on disk). */
  touched(path: string, at: Date): void {
    const file = this.files.get(path);
    if (file) file.lastModified = at;
  }

  /**
   * Streams `length` bytes (default: up to the end) of `path` from `offset`, opening the file if it
   * is not open yet. Bytes past the end of the file are not read.
   * @throws the `open` error (ENOENT for a missing file).
   */
  async read(path: string, offset: number, length?: number): Promise<RecyclingReadable> {
    const file = await this.acquire(path);
    const end = Math.min(file.size, length === undefined ? file.size : offset + length);
    return new PositionalReadStream(file.handle, offset, end, this.buffers, () =>
      this.release(file),
    );
  }

  /**
   * Drops `path` from the cache, including an open in progress. Call it before and after replacing
   * or removing the file, so no read that raced the change keeps the old file cached.
   */
  invalidate(path: string): void {
    if (this.opening.has(path)) this.doomed.add(path);
    const file = this.files.get(path);
    if (file) this.retire(path, file);
  }

  /** Closes every idle file and stops the timer; files still being read close when done. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.opening.values()].map((opening) => opening.catch(() => undefined)));
    for (const [path, file] of [...this.files]) this.retire(path, file);
  }

  private fresh(path: string): OpenFile | undefined {
    const file = this.files.get(path);
    if (!file) return undefined;
    if (Date.now() - file.openedAt >= this.options.validMs) {
      this.retire(path, file);
      return undefined;
    }
    return file;
  }

  private async acquire(path: string): Promise<OpenFile> {
    const cached = this.fresh(path);
    if (cached) {
      // Most recently used last: eviction takes the first entries.
      this.files.delete(path);
      this.files.set(path, cached);
      cached.readers += 1;
      return cached;
    }
    let opening = this.opening.get(path);
    if (!opening) {
      opening = this.openFile(path);
      this.opening.set(path, opening);
      void opening
        .catch(() => undefined)
        .finally(() => {
          this.opening.delete(path);
          this.doomed.delete(path);
        });
    }
    const file = await opening;
    file.readers += 1;
    return file;
  }

  private async openFile(path: string): Promise<OpenFile> {
    const handle = await open(path, 'r');
    let info;
    try {
      info = await handle.stat();
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    const file: OpenFile = {
      handle,
      size: info.size,
      lastModified: info.mtime,
      openedAt: Date.now(),
      readers: 0,
      retired: this.options.capacity === 0 || this.doomed.delete(path),
    };
    if (!file.retired) {
      const previous = this.files.get(path);
      if (previous) this.retire(path, previous);
      this.files.set(path, file);
      for (const [oldestPath, oldest] of this.files) {
        if (this.files.size <= this.options.capacity) break;
        this.retire(oldestPath, oldest);
      }
    }
    return file;
  }

  private release(file: OpenFile): void {
    file.readers -= 1;
    if (file.retired && file.readers === 0) void file.handle.close().catch(() => undefined);
  }

  private retire(path: string, file: OpenFile): void {
    if (this.files.get(path) === file) this.files.delete(path);
    file.retired = true;
    if (file.readers === 0) void file.handle.close().catch(() => undefined);
  }

  private retireStale(now: number): void {
    for (const [path, file] of [...this.files]) {
      if (now - file.openedAt >= this.options.validMs) this.retire(path, file);
    }
  }
}

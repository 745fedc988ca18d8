import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import {
  mkdir,
  open,
  type FileHandle,
  readdir,
  rename,
  rm,
  stat,
  statfs,
  unlink,
  utimes,
} from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { BufferPool, READ_BUFFERS } from './buffer-pool';
import { FilesystemTempFile } from './filesystem-temp-file';
import { OpenFileCache, type OpenFileCacheOptions } from './open-file-cache';
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
import { TailedFileHandle } from './tailed-file-handle';

const TEMP_DIRECTORY = 'tmp';

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Stores files under a root directory. Publication is `fsync(file)`, `rename`, `fsync(directory)`;
 * a file's mtime records its last access. Temp files live in `<root>/tmp`, on the same file system
 * as their destination so the rename is atomic.
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  private readonly openFiles: OpenFileCache;
  /** Read buffers of published files and of temp files being filled, shared by both. */
  private readonly buffers = new BufferPool(READ_BUFFERS);

  /**
   * @param options.openFiles recently read files kept open (default 256 files, trusted for 30 s);
   *   capacity 0 opens and closes the file on every read.
   */
  constructor(
    readonly rootDirectory: string,
    options: { openFiles?: OpenFileCacheOptions } = {},
  ) {
    this.openFiles = new OpenFileCache(
      options.openFiles ?? { capacity: 256, validMs: 30_000 },
      this.buffers,
    );
  }

  /** Closes the files kept open (reads in progress finish first). */
  close(): Promise<void> {
    return this.openFiles.close();
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return join(this.rootDirectory, ...key.split('/'));
  }

  async stat(key: string): Promise<FileInfo | undefined> {
    const path = this.pathOf(key);
    const open = this.openFiles.peek(path);
    if (open) return { key, size: open.size, lastAccessedAt: open.lastModified };
    try {
      const info = await stat(path);
      return info.isFile() ? { key, size: info.size, lastAccessedAt: info.mtime } : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async read(
    key: string,
    range: { offset: number; length?: number } = { offset: 0 },
  ): Promise<Readable> {
    try {
      return await this.openFiles.read(this.pathOf(key), range.offset, range.length);
    } catch (error) {
      if (isNotFound(error)) throw new FileNotFoundError(key);
      throw error;
    }
  }

  /**
   * What statfs says of the root directory, or, before the first write has created it, of its
   * nearest existing ancestor (the file system it will be on).
   */
  async freeBytes(): Promise<number | undefined> {
    for (let directory = this.rootDirectory; ; directory = dirname(directory)) {
      try {
        const space = await statfs(directory);
        return space.bavail * space.bsize;
      } catch (error) {
        if (!isNotFound(error) || dirname(directory) === directory) return undefined;
      }
    }
  }

  async createTemp(): Promise<TempFile> {
    const key = `${TEMP_DIRECTORY}/${randomUUID()}.part`;
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'wx', 0o644);
    return new FilesystemTempFile(key, path, handle, this.buffers);
  }

  async reopenTemp(key: string, size: number): Promise<TempFile> {
    if (!key.startsWith(`${TEMP_DIRECTORY}/`)) throw new FileNotFoundError(key);
    const path = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r+');
    } catch (error) {
      if (isNotFound(error)) throw new FileNotFoundError(key);
      throw error;
    }
    try {
      const { size: actual } = await handle.stat();
      if (actual < size) throw new FileNotFoundError(key);
      if (actual > size) await handle.truncate(size);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    return new FilesystemTempFile(key, path, handle, this.buffers, size);
  }

  async openTailed(tempKey: string, publishedKey: string): Promise<TailedFile> {
    if (!tempKey.startsWith(`${TEMP_DIRECTORY}/`)) throw new FileNotFoundError(tempKey);
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(tempKey), 'r');
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        // Published meanwhile (a rename: the same bytes).
        handle = await open(this.pathOf(publishedKey), 'r');
      } catch (publishedError) {
        if (isNotFound(publishedError)) throw new FileNotFoundError(tempKey);
        throw publishedError;
      }
    }
    return new TailedFileHandle(handle, this.buffers);
  }

  async move(temp: TempFile, key: string): Promise<void> {
    if (!(temp instanceof FilesystemTempFile)) throw new Error('temp file of another driver');
    const destination = this.pathOf(key);
    this.openFiles.invalidate(destination);
    const directory = dirname(destination);
    const created = await mkdir(directory, { recursive: true });
    temp.movedTo = destination;
    try {
      await rename(temp.path, destination);
      this.openFiles.invalidate(destination);
    } catch (error) {
      temp.movedTo = undefined;
      if (isNotFound(error)) throw new FileNotFoundError(temp.key);
      throw error;
    }
    await syncDirectory(directory);
    if (created !== undefined) {
      // New directories must reach the disk too, up to the first one that already existed.
      let parent = dirname(directory);
      const first = dirname(created);
      for (;;) {
        await syncDirectory(parent);
        if (parent === first || parent === this.rootDirectory) break;
        parent = dirname(parent);
      }
    }
  }

  async delete(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    this.openFiles.invalidate(path);
    try {
      await unlink(path);
      this.openFiles.invalidate(path);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async setAside(key: string): Promise<SetAsideFile | undefined> {
    const path = this.pathOf(key);
    // In the temporary area: a crash before the decision leaves a temp file, removed as stale.
    const aside = this.pathOf(`${TEMP_DIRECTORY}/${randomUUID()}.aside`);
    await mkdir(dirname(aside), { recursive: true });
    this.openFiles.invalidate(path);
    try {
      await rename(path, aside);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    this.openFiles.invalidate(path);
    const info = await stat(aside);
    // Fresh, so that no process removes it as a stale temp file while it is being decided on.
    const now = new Date();
    await utimes(aside, now, now);
    return {
      info: { key, size: info.size, lastAccessedAt: info.mtime },
      restore: async () => {
        await mkdir(dirname(path), { recursive: true });
        await rename(aside, path);
        this.openFiles.invalidate(path);
      },
      discard: () => rm(aside, { force: true }),
    };
  }

  async touch(key: string, at: Date): Promise<boolean> {
    try {
      const path = this.pathOf(key);
      await utimes(path, at, at);
      this.openFiles.touched(path, at);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<FileInfo> {
    const trimmed = prefix.replace(/\/+$/, '');
    const start = trimmed === '' ? this.rootDirectory : this.pathOf(trimmed);
    const pending = [start];
    while (pending.length > 0) {
      const directory = pending.pop() as string;
      let entries: Dirent[];
      try {
        entries = await readdir(directory, { withFileTypes: true });
      } catch (error) {
        if (isNotFound(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
        throw error;
      }
      for (const entry of entries) {
        const path = join(directory, entry.name);
        const key = relative(this.rootDirectory, path).split(sep).join('/');
        if (key === TEMP_DIRECTORY || key.startsWith(`${TEMP_DIRECTORY}/`)) continue;
        if (entry.isDirectory()) pending.push(path);
        else if (entry.isFile()) {
          const info = await this.stat(key).catch(() => undefined);
          if (info) yield info;
        }
      }
    }
  }

  async removeTempFiles(keep?: (file: TempFileInfo) => boolean): Promise<number> {
    const directory = join(this.rootDirectory, TEMP_DIRECTORY);
    let names: string[];
    try {
      names = await readdir(directory);
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
    let removed = 0;
    for (const name of names) {
      const path = join(directory, name);
      if (keep) {
        const info = await stat(path).catch(() => undefined);
        if (!info) continue;
        const file = { key: `${TEMP_DIRECTORY}/${name}`, size: info.size, modifiedAt: info.mtime };
        if (keep(file)) continue;
      }
      await rm(path, { force: true, recursive: true });
      removed += 1;
    }
    return removed;
  }
}

import type { Readable } from 'node:stream';

/** A stored file as a driver sees it. */
export interface FileInfo {
  /** The file's key: `/`-separated, relative, e.g. `blobs/sha256/ab/ab…`. */
  readonly key: string;
  readonly size: number;
  /** When the file was last read for a client, as recorded by {@link StorageDriver.touch}. */
  readonly lastAccessedAt: Date;
}

/**
 * A file being written in the driver's temporary area. It is invisible to `stat`, `read` and
 * `list` until {@link StorageDriver.move} puts it in place.
 */
export interface TempFile {
  readonly key: string;
  /** Appends bytes; resolves once the driver has them (not yet durable). Rejects on I/O errors (e.g. ENOSPC). */
  write(chunks: readonly Buffer[]): Promise<void>;
  /** Makes the written bytes durable (fsync) and closes the file. */
  sync(): Promise<void>;
  /** Reads back what was written; only after `sync`. Streams. */
  read(): Promise<Readable>;
  /**
   * Reads up to `length` bytes at `offset` of what was written so far: usable while writing, and
   * after the file was moved in place (through its own handle), until `closeReader` or `discard`.
   */
  readAt(offset: number, length: number): Promise<Buffer>;
  /**
   * Takes back a chunk `readAt` returned, once nothing references it any more, to read into its
   * memory again. Optional, as for a {@link RecyclingReadable}.
   */
  recycle?(chunk: Buffer): void;
  /** Releases what `readAt` holds open; safe to call more than once. */
  closeReader(): Promise<void>;
  /** Closes and removes the file; safe to call more than once, and after a failed write. */
  discard(): Promise<void>;
  /**
   * Closes the file but keeps it in the temporary area under `key`, holding nothing open, until
   * {@link StorageDriver.reopenTemp} opens it again (in this process or after a restart). Writes in
   * flight finish first.
   */
  close(): Promise<void>;
}

/**
 * Positional reads of a file another writer (possibly in another process) is writing: what it has
 * written so far, and the whole file once it was published. See {@link StorageDriver.openTailed}.
 */
export interface TailedFile {
  /** Up to `length` bytes at `offset` of what is written (fewer at its current end). */
  readAt(offset: number, length: number): Promise<Buffer>;
  /** Takes back a chunk `readAt` returned, as {@link TempFile.recycle}. Optional. */
  recycle?(chunk: Buffer): void;
  /** Releases the file; safe to call more than once. */
  close(): Promise<void>;
}

/** A file in the temporary area, as {@link StorageDriver.removeTempFiles} sees it. */
export interface TempFileInfo {
  readonly key: string;
  readonly size: number;
  /** When it was last written. */
  readonly modifiedAt: Date;
}

/**
 * A published file a garbage collector took out of sight ({@link StorageDriver.setAside}): it
 * decides afterwards whether to put it back or remove it.
 */
export interface SetAsideFile {
  /** The file as it was when it was set aside (size, and last access: its mtime then). */
  readonly info: FileInfo;
  /**
   * Puts it back under its key, replacing any file published there meanwhile (for a
   * content-addressed key, the same bytes).
   */
  restore(): Promise<void>;
  /** Removes it for good. */
  discard(): Promise<void>;
}

/**
 * A read stream that takes its chunks back for reuse. A consumer that knows when a chunk is no
 * longer referenced (its socket write completed) hands it to `recycle`, and the stream reads later
 * bytes into the same memory. Handing chunks back is optional: one not handed back is
 * garbage-collected as usual.
 */
export interface RecyclingReadable extends Readable {
  /** Takes back a chunk this stream emitted; the caller must not touch it afterwards. */
  recycle(chunk: Buffer): void;
  /**
   * Makes later reads at most `bytes` long (never longer than the driver's read buffers), for a
   * consumer that must not hold large chunks yet (a client that has not shown it takes its bytes).
   * Optional.
   */
  setReadSize?(bytes: number): void;
}

/**
 * The region of an open file that a read stream would read: for a transport that sends it without
 * reading it into memory (sendfile). `fd` stays open until the stream is destroyed.
 */
export interface FileRegion {
  readonly fd: number;
  readonly offset: number;
  readonly length: number;
}

/** A read stream of a file on local disk, which offers its {@link FileRegion} before its first read. */
export interface FileBackedReadable extends Readable {
  readonly fileRegion: FileRegion;
}

/** The stream's file region, if it is a {@link FileBackedReadable}. */
export function fileRegionOf(stream: Readable): FileRegion | undefined {
  return (stream as Partial<FileBackedReadable>).fileRegion;
}

/** The stream's `recycle`, bound, if it is a {@link RecyclingReadable}. */
export function recyclerOf(stream: Readable): ((chunk: Buffer) => void) | undefined {
  const recycle = (stream as Partial<RecyclingReadable>).recycle;
  return typeof recycle === 'function' ? recycle.bind(stream) : undefined;
}

/** The stream's `setReadSize`, bound, if it offers one ({@link RecyclingReadable}). */
export function readSizerOf(stream: Readable): ((bytes: number) => void) | undefined {
  const setReadSize = (stream as Partial<RecyclingReadable>).setReadSize;
  return typeof setReadSize === 'function' ? setReadSize.bind(stream) : undefined;
}

/** Thrown by drivers for a key that does not exist. */
export class FileNotFoundError extends Error {
  readonly code = 'ENOENT';

  constructor(readonly key: string) {
    super(`no such file: ${key}`);
    this.name = 'FileNotFoundError';
  }
}

const KEY_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Checks a key: relative, `/`-separated segments of `[A-Za-z0-9._-]` that are not `.` or `..`.
 * Drivers call it before touching storage, so no key can escape the driver's root.
 * @throws Error for any other key.
 */
export function assertValidKey(key: string): void {
  const segments = key.split('/');
  if (key === '' || !segments.every((segment) => KEY_SEGMENT.test(segment) && segment !== '..')) {
    throw new Error(`invalid storage key ${JSON.stringify(key)}`);
  }
}

/**
 * The small storage interface under the {@link BlobStore}: a flat namespace of immutable files
 * with atomic publication. Every driver passes the same conformance suite.
 */
export interface StorageDriver {
  /** Short driver name for logs (`filesystem`, `inmemory`). */
  readonly name: string;
  /** The file's size and last access, or undefined if it does not exist. */
  stat(key: string): Promise<FileInfo | undefined>;
  /**
   * Opens a file for reading `length` bytes from `offset` (default: to the end). The file is open
   * when the promise resolves, so a later `delete` does not cut the stream short. Streams; never
   * buffers the whole file. The stream may be a {@link RecyclingReadable} and a
   * {@link FileBackedReadable}.
   * @throws FileNotFoundError if the file does not exist.
   */
  read(key: string, range?: { offset: number; length?: number }): Promise<Readable>;
  /** Starts a new file in the temporary area. */
  createTemp(): Promise<TempFile>;
  /**
   * Opens a temp file that was {@link TempFile.close}d, to write more at its end: its first `size`
   * bytes are kept and anything after them (a write that failed, a crash in the middle of one) is
   * cut off.
   * @throws FileNotFoundError if there is no such temp file, or it holds fewer than `size` bytes.
   */
  reopenTemp(key: string, size: number): Promise<TempFile>;
  /**
   * Opens the temp file `tempKey` that another writer (another process sharing the storage) is
   * writing, to read what it has written; if it was published under `publishedKey` meanwhile,
   * that file (the same bytes). What is read stays readable if the writer discards the file.
   * @throws FileNotFoundError if neither exists (discarded, or never created).
   */
  openTailed(tempKey: string, publishedKey: string): Promise<TailedFile>;
  /**
   * Atomically publishes a synced temp file under `key`, replacing any file there, and makes the
   * publication durable. Readers see either the old file or the whole new one.
   * @throws FileNotFoundError if the temp file is gone.
   */
  move(temp: TempFile, key: string): Promise<void>;
  /** Removes a file; true if it existed. Streams already open keep reading. */
  delete(key: string): Promise<boolean>;
  /** Records a read of the file at `at`; false if the file does not exist. */
  touch(key: string, at: Date): Promise<boolean>;
  /** Every published file whose key starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<FileInfo>;
  /**
   * Removes the files of the temporary area (left by a crash, or abandoned) but those `keep` says
   * to keep; returns how many were removed. Without `keep`, removes them all.
   */
  removeTempFiles(keep?: (file: TempFileInfo) => boolean): Promise<number>;
  /**
   * Bytes free for new files (what an unprivileged writer may use), or undefined when the driver
   * cannot tell. A hint: a write may still fail for want of space (other writers, quotas).
   */
  freeBytes?(): Promise<number | undefined>;
  /**
   * Takes a published file out of sight in one atomic step (a rename): `stat`, `read` and `list`
   * no longer see it under `key`, and a file published under `key` afterwards is a new one (reads
   * already open keep reading). Returns undefined if there is no such file. A garbage collector
   * uses it so that a file published again while it decides is never lost: what it set aside it
   * inspects, then restores or discards.
   */
  setAside?(key: string): Promise<SetAsideFile | undefined>;
  /** Releases what the driver holds (open files); reads in progress finish first. */
  close(): Promise<void>;
}

import type { Readable, Writable } from 'node:stream';
import {
  type ByteRange,
  type Digest,
  type DigestAlgorithm,
  DigestHasher,
  type PrefixDigest,
  RegistryError,
  isRangeWithin,
  rangeNotSatisfiable,
} from '@dtr-cache/registry-protocol';
import { BLOBS_PREFIX, blobKey, digestOfBlobKey } from './blob-layout';
import { DriverBlobWriter } from './driver-blob-writer';
import {
  FileNotFoundError,
  fileRegionOf,
  type FileRegion,
  recyclerOf,
  type SetAsideFile,
  type StorageDriver,
  type TailedFile,
  type TempFile,
  type TempFileInfo,
} from './storage-driver';

/** A stored blob. */
export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
  /** When the blob was last pulled (or stored). */
  readonly lastAccessedAt: Date;
}

/** An open blob: its total size and a stream of the requested bytes. */
export interface OpenBlob {
  readonly size: number;
  /** The bytes served: the whole blob, or the requested range. */
  readonly range: ByteRange | undefined;
  readonly stream: Readable;
  /**
   * The same bytes as `stream`, when they are in memory already: a transport may send them in one
   * write instead of reading the stream. The stream of such a blob holds nothing to release (a
   * store may make it only when asked for), and the bytes stay valid whatever later happens to
   * the stored blob.
   */
  readonly bytes?: Buffer;
  /**
   * Takes back a chunk read from `stream` once nothing references it any more (its write to the
   * client completed), so the store reads later bytes into the same memory. Optional on both sides:
   * a store may not offer it, and a chunk not handed back is garbage-collected as usual. A chunk
   * must not be used after it is handed back.
   */
  readonly recycle?: (chunk: Buffer) => void;
  /**
   * The region of a file on local disk that `stream` reads, for a transport that sends it without
   * reading it (sendfile): read nothing from `stream` then, and destroy it once done (the
   * descriptor stays open until then). Absent for a blob not on local disk.
   */
  readonly file?: FileRegion;
}

/**
 * A blob being written. Write bytes to it (it is a Writable, so `pipeline()` works and
 * backpressure holds), then `commit` or `cancel`. Nothing is visible before `commit` succeeds.
 */
export interface BlobWriter extends Writable {
  /** Bytes accepted so far. */
  readonly size: number;
  /**
   * Ends the writer if needed, checks size and digest, makes the bytes durable and publishes the
   * blob atomically. Committing a digest that is already stored is safe (the content is equal).
   * `options.onVerified` is called as soon as size and digest are known to match: bytes are hashed
   * as they are accepted, so that is before they have all reached storage and before they are
   * durable (a fill can finish its clients' bodies without waiting for the disk).
   * @throws RegistryError `SIZE_INVALID` or `DIGEST_INVALID` (nothing kept), or the write error
   *   that failed the writer (e.g. ENOSPC).
   */
  commit(
    expectedDigest: Digest,
    expectedSize?: number,
    options?: { onVerified?: () => void },
  ): Promise<BlobInfo>;
  /** Discards everything written; safe to call at any time and more than once. */
  cancel(): Promise<void>;
}

/**
 * A {@link BlobWriter} whose bytes can be read back while it is being written: a pull-through
 * cache serves a blob to its clients while it fills it. Offered beside the storage contract by
 * stores that can ({@link TailableBlobStore}).
 */
export interface TailableBlobWriter extends BlobWriter {
  /**
   * The key of the writer's temp file: another process sharing the storage reads the bytes as
   * they are written with {@link TailableBlobStore.tailWriter}.
   */
  readonly key: string;
  /**
   * The digest of the bytes accepted so far, hashed as they were accepted whether or not they
   * reached storage: after a failed write, of every byte accepted before the failure. Does not end
   * the hash.
   */
  hashedPrefix(): PrefixDigest;
  /** Bytes written through to storage so far (readable with `readWritten`). */
  readonly written: number;
  /**
   * Reads back bytes already written, while the blob is still being written and after `commit`,
   * until `releaseReader` or `cancel`.
   * @throws the storage's read error.
   */
  readWritten(offset: number, length: number): Promise<Buffer>;
  /**
   * Takes back a chunk `readWritten` returned (or any other: one it did not lend is ignored) once
   * nothing references it, to read into its memory again; see {@link OpenBlob.recycle}.
   */
  recycle(chunk: Buffer): void;
  /** Releases what `readWritten` holds open. */
  releaseReader(): Promise<void>;
}

/** A store whose writers can be read while they are written ({@link TailableBlobWriter}). */
export interface TailableBlobStore {
  /** Starts a writer, like {@link BlobStore.create}, whose written bytes can be read back. */
  createTailable(options?: { algorithm?: DigestAlgorithm }): Promise<TailableBlobWriter>;
  /**
   * Reads the bytes of a writer of another process sharing the storage ({@link
   * TailableBlobWriter.key}) as they are written; once the blob `digest` was committed, the blob.
   * Not verified: the reader learns from the writer how far it has written and whether it was
   * verified.
   * @throws FileNotFoundError if the writer's file is gone and the blob is not stored.
   */
  tailWriter(key: string, digest: Digest): Promise<TailedFile>;
}

/**
 * An upload kept between the requests that write it (a registry's upload session): its bytes sit
 * in a temp file that nothing holds open. `hasher` is the running digest, when this process still
 * has it; without it, resuming hashes the bytes again.
 */
export interface SuspendedUpload {
  /** The temp file's key: store it to resume the upload, also after a restart. */
  readonly key: string;
  /** Bytes kept. */
  readonly size: number;
  readonly hasher?: DigestHasher;
}

/** A {@link BlobWriter} whose bytes can be kept between requests instead of committed. */
export interface ResumableBlobWriter extends BlobWriter {
  /** The key of the temp file the bytes go to (what {@link suspend} returns). */
  readonly uploadKey: string;
  /**
   * Ends this writer without committing: waits for the accepted bytes to reach storage, closes
   * the temp file (nothing stays open) and keeps it. The writer is done afterwards. After a failed
   * write, keeps the bytes that were written.
   */
  suspend(): Promise<SuspendedUpload>;
}

/**
 * Writers that outlive a request: a registry keeps each upload session's bytes between its
 * PATCH requests, and across restarts, without an open file per idle session. Offered beside
 * {@link BlobStore} by stores that have temp files of their own (the driver-backed store).
 */
export interface ResumableBlobStore {
  /** Starts a writer, like {@link BlobStore.create}, that can also be suspended. */
  create(options?: { algorithm?: DigestAlgorithm }): Promise<ResumableBlobWriter>;
  /**
   * Opens a suspended upload again, to write more and then commit, cancel or suspend it. Bytes
   * after `upload.size` in its temp file (a request cut off while writing) are dropped.
   * @throws FileNotFoundError if its temp file is gone or shorter than `upload.size`.
   */
  resume(upload: SuspendedUpload): Promise<ResumableBlobWriter>;
  /** Removes a suspended upload's bytes; nothing happens if they are gone already. */
  discard(upload: Pick<SuspendedUpload, 'key'>): Promise<void>;
}

/**
 * Content-addressed blob storage. Route code uses only this interface, so a decorator (the
 * content cache) can fill misses behind it.
 */
export interface BlobStore {
  /** The blob's size and last pull, or undefined if not stored. */
  stat(digest: Digest): Promise<BlobInfo | undefined>;
  /**
   * Opens a blob, whole or an inclusive byte range of it. Streams.
   * @throws RegistryError `BLOB_UNKNOWN` if not stored; `RANGE_INVALID` for a range outside it.
   */
  open(digest: Digest, range?: ByteRange): Promise<OpenBlob>;
  /** Starts writing a blob hashed with `algorithm` (default sha256). */
  create(options?: { algorithm?: DigestAlgorithm }): Promise<BlobWriter>;
  /** Deletes a blob; true if it was stored. Streams already open finish. */
  delete(digest: Digest): Promise<boolean>;
  /** Records a pull of the blob at `at` (default now); false if not stored. */
  touch(digest: Digest, at?: Date): Promise<boolean>;
  /** Every stored blob with its last-pull time, in no particular order. */
  list(): AsyncIterable<BlobInfo>;
  /** Bytes free for new blobs, or undefined when unknown: a hint (see the driver's). */
  freeBytes?(): Promise<number | undefined>;
}

/** Chunk size of hashing a resumed upload's bytes again. */
const REHASH_CHUNK = 1024 * 1024;

/** Options of {@link openBlobStore}. */
export interface BlobStoreOptions {
  /** Called with the number of stale temp files removed at start-up. */
  onTempFilesRemoved?: (count: number) => void;
  /**
   * Temp files to keep at start-up (suspended uploads that are still wanted); every other temp
   * file is taken for one a crash left behind and removed. Default: keep none.
   */
  keepTemp?: (file: TempFileInfo) => boolean;
}

/** The content-addressed {@link BlobStore} over a {@link StorageDriver}. */
export class DriverBlobStore implements BlobStore, ResumableBlobStore, TailableBlobStore {
  constructor(readonly driver: StorageDriver) {}

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    const info = await this.driver.stat(blobKey(digest));
    return info && { digest, size: info.size, lastAccessedAt: info.lastAccessedAt };
  }

  async open(digest: Digest, range?: ByteRange): Promise<OpenBlob> {
    const key = blobKey(digest);
    const info = await this.driver.stat(key);
    if (!info)
      throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: digest.toString() } });
    if (!isRangeWithin(range, info.size)) throw rangeNotSatisfiable(info.size);
    try {
      const stream = await this.driver.read(
        key,
        range
          ? { offset: range.start, length: range.end - range.start + 1 }
          : { offset: 0, length: info.size },
      );
      return {
        size: info.size,
        range,
        stream,
        recycle: recyclerOf(stream),
        file: fileRegionOf(stream),
      };
    } catch (error) {
      if (error instanceof FileNotFoundError) {
        throw new RegistryError('BLOB_UNKNOWN', undefined, {
          detail: { digest: digest.toString() },
        });
      }
      throw error;
    }
  }

  create(options: { algorithm?: DigestAlgorithm } = {}): Promise<ResumableBlobWriter> {
    return this.createWriter(options);
  }

  createTailable(options: { algorithm?: DigestAlgorithm } = {}): Promise<TailableBlobWriter> {
    return this.createWriter(options);
  }

  tailWriter(key: string, digest: Digest): Promise<TailedFile> {
    return this.driver.openTailed(key, blobKey(digest));
  }

  private async createWriter(options: { algorithm?: DigestAlgorithm }): Promise<DriverBlobWriter> {
    return new DriverBlobWriter(
      this.driver,
      await this.driver.createTemp(),
      options.algorithm ?? 'sha256',
    );
  }

  async resume(upload: SuspendedUpload): Promise<ResumableBlobWriter> {
    const temp = await this.driver.reopenTemp(upload.key, upload.size);
    let hasher = upload.hasher;
    if (hasher?.size !== upload.size) {
      try {
        hasher = await this.rehash(temp, upload.size);
      } catch (error) {
        await temp.close().catch(() => undefined);
        throw error;
      }
    }
    return new DriverBlobWriter(this.driver, temp, hasher.algorithm, {
      size: upload.size,
      hasher,
    });
  }

  /** Hashes the first `size` bytes of a temp file (an upload resumed without its running digest). */
  private async rehash(temp: TempFile, size: number): Promise<DigestHasher> {
    const hasher = new DigestHasher('sha256');
    for (let offset = 0; offset < size;) {
      const chunk = await temp.readAt(offset, Math.min(REHASH_CHUNK, size - offset));
      if (chunk.length === 0) throw new FileNotFoundError(temp.key);
      hasher.update(chunk);
      offset += chunk.length;
      temp.recycle?.(chunk);
    }
    await temp.closeReader();
    return hasher;
  }

  async discard(upload: Pick<SuspendedUpload, 'key'>): Promise<void> {
    try {
      await (await this.driver.reopenTemp(upload.key, 0)).discard();
    } catch (error) {
      if (!(error instanceof FileNotFoundError)) throw error;
    }
  }

  delete(digest: Digest): Promise<boolean> {
    return this.driver.delete(blobKey(digest));
  }

  touch(digest: Digest, at: Date = new Date()): Promise<boolean> {
    return this.driver.touch(blobKey(digest), at);
  }

  /**
   * Takes a blob out of sight atomically, to restore or discard it (a garbage collector's delete
   * that loses nothing published again meanwhile); undefined if it is not stored.
   * @throws Error if the driver cannot set files aside.
   */
  setAside(digest: Digest): Promise<SetAsideFile | undefined> {
    if (!this.driver.setAside)
      throw new Error(`the ${this.driver.name} driver cannot set files aside`);
    return this.driver.setAside(blobKey(digest));
  }

  async freeBytes(): Promise<number | undefined> {
    return this.driver.freeBytes?.();
  }

  async *list(): AsyncIterable<BlobInfo> {
    for await (const file of this.driver.list(BLOBS_PREFIX)) {
      const digest = digestOfBlobKey(file.key);
      if (digest) yield { digest, size: file.size, lastAccessedAt: file.lastAccessedAt };
    }
  }
}

/**
 * Opens the blob store of a driver, first removing temp files a crash left behind: all of them but
 * those `options.keepTemp` keeps (suspended uploads still wanted).
 */
export async function openBlobStore(
  driver: StorageDriver,
  options: BlobStoreOptions = {},
): Promise<DriverBlobStore> {
  const removed = await driver.removeTempFiles(options.keepTemp);
  options.onTempFilesRemoved?.(removed);
  return new DriverBlobStore(driver);
}

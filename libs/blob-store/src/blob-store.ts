import { type Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  assertContentMatches,
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
import { FileNotFoundError, recyclerOf, type StorageDriver, type TempFile } from './storage-driver';

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
  /** Where the bytes come from, for logs and metrics (a cache: `hit`, `miss`, `coalesced`). */
  readonly source?: string;
  /**
   * Takes back a chunk read from `stream` once nothing references it any more (its write to the
   * client completed), so the store reads later bytes into the same memory. Optional on both sides:
   * a store may not offer it, and a chunk not handed back is garbage-collected as usual. A chunk
   * must not be used after it is handed back.
   */
  readonly recycle?: (chunk: Buffer) => void;
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
  /**
   * The digest of the bytes accepted so far, hashed as they were accepted whether or not they
   * reached storage: after a failed write, of every byte accepted before the failure. Does not end
   * the hash.
   */
  hashedPrefix(): PrefixDigest;
  /** Bytes written through to storage so far (readable with `readWritten`). */
  readonly written: number;
  /**
   * Reads back bytes already written, while the blob is still being written and after `commit`
   * (to serve a blob while it is being filled), until `releaseReader` or `cancel`.
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

/**
 * Bytes a writer buffers while a write to storage is in flight: the producer (an upstream socket)
 * keeps going while the disk catches up, and each batch reaches storage as one writev.
 */
const WRITER_BUFFER = 4 * 1024 * 1024;

class DriverBlobWriter extends Writable implements BlobWriter {
  private readonly hasher: DigestHasher;
  private settled = false;
  private writtenBytes = 0;

  constructor(
    private readonly driver: StorageDriver,
    private readonly temp: TempFile,
    algorithm: DigestAlgorithm,
  ) {
    super({ highWaterMark: WRITER_BUFFER });
    this.hasher = new DigestHasher(algorithm);
    // A failed write is reported by `commit` (the stream keeps it in `errored`); without a
    // listener the error event would be thrown.
    this.on('error', () => undefined);
  }

  /** Bytes accepted: written, plus those being written or still buffered in the stream. */
  get size(): number {
    return this.writtenBytes + this.writableLength;
  }

  /**
   * Accepts a chunk: it is hashed here, as it arrives, so the digest is known once the last chunk
   * is accepted, however far the disk is behind (see `commit`'s `onVerified`).
   */
  override write(
    chunk: Buffer,
    encodingOrCallback?: BufferEncoding | ((error?: Error | null) => void),
    callback?: (error?: Error | null) => void,
  ): boolean {
    // Bytes a closed writer refuses are not hashed (the stream reports the refusal).
    if (!this.writableEnded && !this.destroyed) this.hasher.update(chunk);
    return super.write(chunk, encodingOrCallback as BufferEncoding, callback);
  }

  /** Ends the writer; a last chunk given here is hashed like one given to `write`. */
  override end(
    chunkOrCallback?: Buffer | (() => void),
    encodingOrCallback?: BufferEncoding | (() => void),
    callback?: () => void,
  ): this {
    const chunk = typeof chunkOrCallback === 'function' ? undefined : chunkOrCallback;
    if (chunk && !this.writableEnded && !this.destroyed) this.hasher.update(chunk);
    return super.end(chunkOrCallback as Buffer, encodingOrCallback as BufferEncoding, callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer }>,
    callback: (error?: Error | null) => void,
  ): void {
    const buffers = chunks.map(({ chunk }) => chunk);
    // Until the callback the stream still counts these bytes as buffered (writableLength), so
    // `size` never counts them twice.
    let length = 0;
    for (const buffer of buffers) length += buffer.length;
    this.temp.write(buffers).then(
      () => {
        this.writtenBytes += length;
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this._writev([{ chunk }], callback);
  }

  /** Ends the writer (if needed) and waits until every accepted byte reached storage. */
  private async allWritten(): Promise<void> {
    if (this.errored) throw this.errored;
    if (this.writableFinished) return;
    if (!this.writableEnded) this.end();
    await finished(this as Writable);
  }

  async commit(
    expectedDigest: Digest,
    expectedSize?: number,
    options: { onVerified?: () => void } = {},
  ): Promise<BlobInfo> {
    if (this.settled) throw new Error('blob writer already committed or cancelled');
    this.settled = true;
    try {
      let actual: { digest: Digest; size: number };
      if (expectedDigest.algorithm === this.hasher.algorithm) {
        // Every accepted byte is hashed already: verify now, before the disk has caught up.
        if (!this.writableEnded) this.end();
        if (this.errored) throw this.errored;
        actual = { digest: this.hasher.digest(), size: this.hasher.size };
        assertContentMatches({ digest: expectedDigest, size: expectedSize }, actual);
        options.onVerified?.();
        await this.allWritten();
        await this.temp.sync();
      } else {
        await this.allWritten();
        // Hashing again reads the temp file, which must be synced (closed) first.
        await this.temp.sync();
        actual = await this.rehash(expectedDigest.algorithm);
        assertContentMatches({ digest: expectedDigest, size: expectedSize }, actual);
        options.onVerified?.();
      }
      await this.driver.move(this.temp, blobKey(expectedDigest));
      return { digest: expectedDigest, size: actual.size, lastAccessedAt: new Date() };
    } catch (error) {
      // Writes still in flight end first (failed or not): the file goes away after them.
      await this.allWritten().catch(() => undefined);
      await this.temp.discard();
      throw error;
    }
  }

  /** Hashes the temp file again when the commit names another algorithm than the writer used. */
  private async rehash(algorithm: DigestAlgorithm): Promise<{ digest: Digest; size: number }> {
    const hasher = new DigestHasher(algorithm);
    for await (const chunk of await this.temp.read()) hasher.update(chunk as Buffer);
    return { digest: hasher.digest(), size: hasher.size };
  }

  get written(): number {
    return this.writtenBytes;
  }

  hashedPrefix(): PrefixDigest {
    return this.hasher.peek();
  }

  readWritten(offset: number, length: number): Promise<Buffer> {
    return this.temp.readAt(offset, Math.max(0, Math.min(length, this.writtenBytes - offset)));
  }

  recycle(chunk: Buffer): void {
    this.temp.recycle?.(chunk);
  }

  releaseReader(): Promise<void> {
    return this.temp.closeReader();
  }

  async cancel(): Promise<void> {
    this.settled = true;
    this.destroy();
    await this.temp.discard();
  }
}

/** Options of {@link openBlobStore}. */
export interface BlobStoreOptions {
  /** Called with the number of stale temp files removed at start-up. */
  onTempFilesRemoved?: (count: number) => void;
}

/** The content-addressed {@link BlobStore} over a {@link StorageDriver}. */
export class DriverBlobStore implements BlobStore {
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
      return { size: info.size, range, stream, recycle: recyclerOf(stream) };
    } catch (error) {
      if (error instanceof FileNotFoundError) {
        throw new RegistryError('BLOB_UNKNOWN', undefined, {
          detail: { digest: digest.toString() },
        });
      }
      throw error;
    }
  }

  async create(options: { algorithm?: DigestAlgorithm } = {}): Promise<BlobWriter> {
    return new DriverBlobWriter(
      this.driver,
      await this.driver.createTemp(),
      options.algorithm ?? 'sha256',
    );
  }

  delete(digest: Digest): Promise<boolean> {
    return this.driver.delete(blobKey(digest));
  }

  touch(digest: Digest, at: Date = new Date()): Promise<boolean> {
    return this.driver.touch(blobKey(digest), at);
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
 * Opens the blob store of a driver, first removing temp files a crash left behind (a storage
 * root belongs to one process).
 */
export async function openBlobStore(
  driver: StorageDriver,
  options: BlobStoreOptions = {},
): Promise<DriverBlobStore> {
  const removed = await driver.removeTempFiles();
  options.onTempFilesRemoved?.(removed);
  return new DriverBlobStore(driver);
}

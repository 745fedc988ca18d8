import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  assertContentMatches,
  type Digest,
  type DigestAlgorithm,
  DigestHasher,
  type PrefixDigest,
} from '@dtr-cache/registry-protocol';
import { blobKey } from './blob-layout';
import type {
  BlobInfo,
  ResumableBlobWriter,
  SuspendedUpload,
  TailableBlobWriter,
} from './blob-store';
import type { StorageDriver, TempFile } from './storage-driver';

/**
 * Bytes a writer buffers while a write to storage is in flight: the producer (an upstream socket)
 * keeps going while the disk catches up, and each batch reaches storage as one writev.
 */
const WRITER_BUFFER = 4 * 1024 * 1024;

/** The writer of a {@link DriverBlobStore}: into a temp file, published by a rename. */
export class DriverBlobWriter extends Writable implements ResumableBlobWriter, TailableBlobWriter {
  private readonly hasher: DigestHasher;
  private settled = false;
  private writtenBytes: number;

  /** @param resumed the bytes already in `temp` and their running digest (a resumed upload). */
  constructor(
    private readonly driver: StorageDriver,
    private readonly temp: TempFile,
    algorithm: DigestAlgorithm,
    resumed?: { size: number; hasher: DigestHasher },
  ) {
    super({ highWaterMark: WRITER_BUFFER });
    this.hasher = resumed?.hasher ?? new DigestHasher(algorithm);
    this.writtenBytes = resumed?.size ?? 0;
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
    if (this.settled) throw new Error('blob writer already committed, cancelled or suspended');
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

  get uploadKey(): string {
    return this.temp.key;
  }

  async suspend(): Promise<SuspendedUpload> {
    if (this.settled) throw new Error('blob writer already committed, cancelled or suspended');
    this.settled = true;
    // After a failed write, what was written is kept (the temp file is cut to it on resume).
    const failed = await this.allWritten().then(
      () => false,
      () => true,
    );
    await this.temp.close();
    const size = this.writtenBytes;
    return failed || this.hasher.size !== size
      ? { key: this.temp.key, size }
      : { key: this.temp.key, size, hasher: this.hasher };
  }

  get key(): string {
    return this.temp.key;
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

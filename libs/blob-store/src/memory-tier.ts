import { Readable } from 'node:stream';
import {
  type ByteRange,
  type Digest,
  type DigestAlgorithm,
  isRangeWithin,
  rangeNotSatisfiable,
} from '@dtr-cache/registry-protocol';
import type { BlobInfo, BlobStore, BlobWriter, OpenBlob } from './blob-store';

/** Options of a {@link MemoryTier}. */
export interface MemoryTierOptions {
  /** The most bytes held in memory (0 holds nothing). */
  readonly maxBytes: number;
  /** Blobs larger than this are never held. */
  readonly maxBlobSize: number;
}

/** One stream of bytes already in memory (no copy; a push, then the end). */
function streamOf(bytes: Buffer): Readable {
  let sent = false;
  return new Readable({
    highWaterMark: bytes.length,
    read() {
      if (!sent) {
        sent = true;
        this.push(bytes);
      }
      this.push(null);
    },
  });
}

/**
 * A blob served from memory. Its stream is made only if asked for: a transport sending `bytes` in
 * one write never does.
 */
class HeldBlob implements OpenBlob {
  private made: Readable | undefined;

  constructor(
    readonly size: number,
    readonly range: ByteRange | undefined,
    readonly bytes: Buffer,
  ) {}

  get stream(): Readable {
    return (this.made ??= streamOf(this.bytes));
  }
}

/**
 * Reads a whole (small) blob into one buffer, checking that it has exactly its recorded size; each
 * chunk is handed back to the store once copied.
 */
async function readWhole({ stream, size, recycle }: OpenBlob): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(size);
  let length = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    if (length + buffer.length > size) {
      stream.destroy();
      throw new Error('a stored blob is larger than its recorded size');
    }
    buffer.copy(bytes, length);
    length += buffer.length;
    recycle?.(buffer);
  }
  if (length !== size) throw new Error('a stored blob is shorter than its recorded size');
  return bytes;
}

/**
 * A {@link BlobStore} decorator that also keeps small blobs in memory, the most recently pulled
 * first (like Squid's `cache_mem`): a pull of a held blob reads no disk and waits for no I/O
 * thread. Blobs are content-addressed, so a held copy never goes stale; a blob is dropped from
 * memory when it is deleted through this store, and the least recently pulled ones are dropped
 * to stay within `maxBytes`. A blob is taken into memory on a whole-blob pull (not on a range
 * pull, nor on its write: only what is pulled is worth memory). Everything else passes through.
 */
export class MemoryTier implements BlobStore {
  /** Held blobs by digest, least recently pulled first (Map order; a pull re-inserts). */
  private readonly held = new Map<string, Buffer>();
  private heldBytes = 0;
  /**
   * Deletes started so far, and those still running: a blob read while a delete started or ran
   * is not held (it may be the deleted blob).
   */
  private deletes = 0;
  private deleting = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly options: MemoryTierOptions,
  ) {}

  /** Bytes held in memory now (for metrics and tests). */
  get bytes(): number {
    return this.heldBytes;
  }

  stat(digest: Digest): Promise<BlobInfo | undefined> {
    return this.store.stat(digest);
  }

  /**
   * Opens a blob from memory when held; otherwise from the store, taking a small blob into
   * memory on the way (it is read whole first, then served from memory). Streams.
   * @throws RegistryError `BLOB_UNKNOWN` if not stored; `RANGE_INVALID` for a range outside it.
   */
  async open(digest: Digest, range?: ByteRange): Promise<OpenBlob> {
    const key = digest.toString();
    let bytes = this.held.get(key);
    if (bytes) {
      this.held.delete(key);
      this.held.set(key, bytes);
    } else {
      const deletes = this.deletes;
      const blob = await this.store.open(digest, range);
      if (range || blob.size > this.options.maxBlobSize || blob.size > this.options.maxBytes)
        return blob;
      bytes = await readWhole(blob);
      if (this.deletes === deletes && this.deleting === 0) this.hold(key, bytes);
    }
    if (!isRangeWithin(range, bytes.length)) throw rangeNotSatisfiable(bytes.length);
    const served = range ? bytes.subarray(range.start, range.end + 1) : bytes;
    return new HeldBlob(bytes.length, range, served);
  }

  private hold(key: string, bytes: Buffer): void {
    this.drop(key);
    this.held.set(key, bytes);
    this.heldBytes += bytes.length;
    for (const [oldest, oldestBytes] of this.held) {
      if (this.heldBytes <= this.options.maxBytes) break;
      this.held.delete(oldest);
      this.heldBytes -= oldestBytes.length;
    }
  }

  private drop(key: string): void {
    const bytes = this.held.get(key);
    if (!bytes) return;
    this.held.delete(key);
    this.heldBytes -= bytes.length;
  }

  create(options?: { algorithm?: DigestAlgorithm }): Promise<BlobWriter> {
    return this.store.create(options);
  }

  /** Deletes the blob from the store and from memory. */
  async delete(digest: Digest): Promise<boolean> {
    this.deletes += 1;
    this.deleting += 1;
    this.drop(digest.toString());
    try {
      return await this.store.delete(digest);
    } finally {
      this.deleting -= 1;
    }
  }

  touch(digest: Digest, at?: Date): Promise<boolean> {
    return this.store.touch(digest, at);
  }

  list(): AsyncIterable<BlobInfo> {
    return this.store.list();
  }

  async freeBytes(): Promise<number | undefined> {
    return this.store.freeBytes?.();
  }
}

import type { BlobInfo, TailableBlobWriter } from '@dtr-cache/blob-store';
import {
  assertContentMatches,
  type Digest,
  DigestHasher,
  type PrefixDigest,
} from '@dtr-cache/registry-protocol';

/**
 * Where a fill's bytes go: the local store's writer (a {@link TailableBlobWriter}), or a
 * {@link TransientSink} when nothing is kept.
 */
export type FillSink = Pick<
  TailableBlobWriter,
  | 'size'
  | 'written'
  | 'writableLength'
  | 'errored'
  | 'destroyed'
  | 'cancel'
  | 'hashedPrefix'
  | 'readWritten'
  | 'recycle'
  | 'releaseReader'
> & {
  /** The storage key of the file the bytes go to (none for a sink that keeps nothing). */
  readonly key?: string;
  write(chunk: Buffer, callback: () => void): boolean;
  /**
   * Checks size and digest and keeps the blob (a transient sink keeps nothing: undefined);
   * `onVerified` is called once they match. @throws the mismatch or the write error.
   */
  commit(
    digest: Digest,
    size: number,
    options: { onVerified: () => void },
  ): Promise<BlobInfo | undefined>;
};

/**
 * The sink of a fill that keeps nothing (the disk is full, or has no room for the blob): it only
 * hashes, so the fill still verifies what it hands its clients.
 */
export class TransientSink implements FillSink {
  private readonly hasher: DigestHasher;
  readonly written = 0;
  readonly writableLength = 0;
  readonly errored = null;
  readonly destroyed = false;

  constructor(digest: Digest) {
    this.hasher = new DigestHasher(digest.algorithm);
  }

  get size(): number {
    return this.hasher.size;
  }

  write(chunk: Buffer, callback: () => void): boolean {
    this.hasher.update(chunk);
    callback();
    return true;
  }

  async commit(digest: Digest, size: number, options: { onVerified: () => void }) {
    assertContentMatches(
      { digest, size },
      { digest: this.hasher.digest(), size: this.hasher.size },
    );
    options.onVerified();
    return undefined;
  }

  async cancel(): Promise<void> {
    // Nothing was stored.
  }

  hashedPrefix(): PrefixDigest {
    return this.hasher.peek();
  }

  readWritten(): Promise<Buffer> {
    return Promise.reject(new Error('a fill that keeps nothing has nothing to read back'));
  }

  recycle(): void {
    // It lends no chunks.
  }

  async releaseReader(): Promise<void> {
    // It holds nothing open.
  }
}

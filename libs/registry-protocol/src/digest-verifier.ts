import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { Digest, type DigestAlgorithm } from './digest';
import { RegistryError } from './registry-error';

/** Incrementally hashes content and counts its bytes. */
export class DigestHasher {
  private readonly hash: Hash;
  private bytes = 0;

  constructor(readonly algorithm: DigestAlgorithm = 'sha256') {
    this.hash = createHash(algorithm);
  }

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** Bytes hashed so far. */
  get size(): number {
    return this.bytes;
  }

  /** The digest of what was hashed; call once, after the last update. */
  digest(): Digest {
    return Digest.fromHash(this.algorithm, this.hash.digest());
  }
}

/**
 * Checks that `actual` content matches what was expected.
 * @throws RegistryError `SIZE_INVALID` or `DIGEST_INVALID`.
 */
export function assertContentMatches(
  expected: { digest: Digest; size?: number | undefined },
  actual: { digest: Digest; size: number },
): void {
  if (expected.size !== undefined && expected.size !== actual.size) {
    throw new RegistryError('SIZE_INVALID', undefined, {
      detail: { expected: expected.size, actual: actual.size },
    });
  }
  if (!expected.digest.equals(actual.digest)) {
    throw new RegistryError('DIGEST_INVALID', undefined, {
      detail: { expected: expected.digest.toString(), actual: actual.digest.toString() },
    });
  }
}

/**
 * A pass-through stream that verifies the bytes flowing through it. It fails with `SIZE_INVALID`
 * as soon as more than `expectedSize` bytes pass, and at the end with `SIZE_INVALID` or
 * `DIGEST_INVALID` instead of ending cleanly. The last chunk is held back until the digest is
 * verified, so a consumer never receives every byte of a corrupt body (a response with a
 * Content-Length can never look complete). It streams: it holds at most one chunk.
 */
export function createDigestVerifier(expectedDigest: Digest, expectedSize?: number): Transform {
  const hasher = new DigestHasher(expectedDigest.algorithm);
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hasher.update(chunk);
      if (expectedSize !== undefined && hasher.size > expectedSize) {
        callback(
          new RegistryError('SIZE_INVALID', undefined, {
            detail: { expected: expectedSize, actual: `more than ${expectedSize}` },
          }),
        );
        return;
      }
      const previous = held;
      held = chunk;
      callback(null, previous);
    },
    flush(callback: TransformCallback) {
      try {
        assertContentMatches(
          { digest: expectedDigest, size: expectedSize },
          { digest: hasher.digest(), size: hasher.size },
        );
        callback(null, held);
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { Digest, type DigestAlgorithm } from './digest';
import { RegistryError } from './registry-error';

/** The digest of a blob's first `size` bytes: what a client was already sent of it. */
export interface PrefixDigest {
  readonly size: number;
  readonly digest: Digest;
}

/** Incrementally hashes content and counts its bytes. */
export class DigestHasher {
  private readonly hash: Hash;
  private bytes = 0;
  private final: Digest | undefined;

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
    this.final = Digest.fromHash(this.algorithm, this.hash.digest());
    return this.final;
  }

  /** The digest of what was hashed so far, without ending the hash (also after {@link digest}). */
  peek(): PrefixDigest {
    return {
      size: this.bytes,
      digest: this.final ?? Digest.fromHash(this.algorithm, this.hash.copy().digest()),
    };
  }
}

/**
 * Checks that `actual` content matches what was expected.
 * @throws RegistryError `SIZE_INVALID`, or `DIGEST_INVALID` (with `message` if given).
 */
export function assertContentMatches(
  expected: { digest: Digest; size?: number | undefined },
  actual: { digest: Digest; size: number },
  message?: string,
): void {
  if (expected.size !== undefined && expected.size !== actual.size) {
    throw new RegistryError('SIZE_INVALID', undefined, {
      detail: { expected: expected.size, actual: actual.size },
    });
  }
  if (!expected.digest.equals(actual.digest)) {
    throw new RegistryError('DIGEST_INVALID', message, {
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
 *
 * With `options.prefix`, the content's first `prefix.size` bytes must also hash to
 * `prefix.digest`: `DIGEST_INVALID` as soon as they have passed, `SIZE_INVALID` at the end if the
 * content is shorter. This is for a client that was sent those bytes from an earlier download and
 * gets the rest from this one: the body it ends up with is then the verified content.
 */
export function createDigestVerifier(
  expectedDigest: Digest,
  expectedSize?: number,
  options: { prefix?: PrefixDigest } = {},
): Transform {
  const hasher = new DigestHasher(expectedDigest.algorithm);
  let prefix = options.prefix?.size === 0 ? undefined : options.prefix;
  /** Hashes `chunk`, checking the prefix when it ends inside it. */
  const update = (chunk: Buffer): void => {
    if (prefix && hasher.size + chunk.length >= prefix.size) {
      const inPrefix = prefix.size - hasher.size;
      hasher.update(chunk.subarray(0, inPrefix));
      assertContentMatches(prefix, hasher.peek(), 'the content differs from what was already sent');
      prefix = undefined;
      hasher.update(chunk.subarray(inPrefix));
    } else {
      hasher.update(chunk);
    }
  };
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        update(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
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
        if (prefix) {
          throw new RegistryError(
            'SIZE_INVALID',
            'the content is shorter than what was already sent',
            {
              detail: { sent: prefix.size, actual: hasher.size },
            },
          );
        }
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

import { createHash } from 'node:crypto';
import { RegistryError } from './registry-error';

/** The digest algorithms this project accepts. */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** Exact number of lower-case hex characters of each algorithm's encoded value. */
export const DIGEST_HEX_LENGTHS: Readonly<Record<DigestAlgorithm, number>> = {
  sha256: 64,
  sha512: 128,
};

const DIGEST_PATTERN = /^(sha256|sha512):([0-9a-f]+)$/;

/**
 * A validated content digest, `algorithm:hex`. Instances exist only for well-formed values, so
 * anything derived from one (a file path, a URL) is safe to build.
 */
export class Digest {
  private constructor(
    readonly algorithm: DigestAlgorithm,
    readonly hex: string,
    /** `algorithm:hex`, kept: a digest's text is a map key on every blob request. */
    private readonly text: string,
  ) {}

  /**
   * Parses `algorithm:hex`: sha256 (64 hex) or sha512 (128 hex), lower case only.
   * @throws RegistryError `DIGEST_INVALID` naming the reason.
   */
  static parse(text: string): Digest {
    const match = DIGEST_PATTERN.exec(text);
    if (!match) {
      throw new RegistryError('DIGEST_INVALID', 'invalid digest', {
        detail: { digest: truncate(text), reason: digestFormatProblem(text) },
      });
    }
    const algorithm = match[1] as DigestAlgorithm;
    const hex = match[2] as string;
    if (hex.length !== DIGEST_HEX_LENGTHS[algorithm]) {
      throw new RegistryError('DIGEST_INVALID', 'invalid digest', {
        detail: {
          digest: truncate(text),
          reason: `${algorithm} needs exactly ${DIGEST_HEX_LENGTHS[algorithm]} hex characters, got ${hex.length}`,
        },
      });
    }
    return new Digest(algorithm, hex, text);
  }

  /** Like {@link Digest.parse} but returns undefined instead of throwing. */
  static tryParse(text: string): Digest | undefined {
    try {
      return Digest.parse(text);
    } catch {
      return undefined;
    }
  }

  /** Builds a digest from a hash's raw bytes. */
  static fromHash(algorithm: DigestAlgorithm, bytes: Buffer): Digest {
    return Digest.parse(`${algorithm}:${bytes.toString('hex')}`);
  }

  /** Digest of an in-memory buffer (for manifests and tests; blobs use a streaming hasher). */
  static of(content: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
    return Digest.fromHash(algorithm, createHash(algorithm).update(content).digest());
  }

  equals(other: Digest): boolean {
    return this.algorithm === other.algorithm && this.hex === other.hex;
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.toString();
  }
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function digestFormatProblem(text: string): string {
  const colon = text.indexOf(':');
  if (colon === -1) return 'expected algorithm:hex';
  const algorithm = text.slice(0, colon);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    return `unsupported algorithm "${truncate(algorithm)}" (use sha256 or sha512)`;
  }
  return 'the encoded part must be lower-case hex';
}

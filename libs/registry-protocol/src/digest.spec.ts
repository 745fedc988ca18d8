import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Digest } from './digest';
import { RegistryError } from './registry-error';

const sha256Hex = 'a'.repeat(64);
const sha512Hex = '0123456789abcdef'.repeat(8);

function expectDigestInvalid(text: string): void {
  try {
    Digest.parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('DIGEST_INVALID');
    expect((error as RegistryError).status).toBe(400);
    return;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('Digest', () => {
  it('parses sha256 and sha512 digests', () => {
    const sha256 = Digest.parse(`sha256:${sha256Hex}`);
    expect(sha256.algorithm).toBe('sha256');
    expect(sha256.hex).toBe(sha256Hex);
    expect(sha256.toString()).toBe(`sha256:${sha256Hex}`);
    expect(Digest.parse(`sha512:${sha512Hex}`).algorithm).toBe('sha512');
  });

  it.each([
    ['upper-case hex', `sha256:${'A'.repeat(64)}`],
    ['upper-case algorithm', `SHA256:${sha256Hex}`],
    ['short hex', `sha256:${'a'.repeat(63)}`],
    ['long hex', `sha256:${'a'.repeat(65)}`],
    ['sha512 with sha256 length', `sha512:${sha256Hex}`],
    ['unsupported algorithm', `md5:${'a'.repeat(32)}`],
    ['no algorithm', sha256Hex],
    ['empty', ''],
    ['non-hex', `sha256:${'g'.repeat(64)}`],
    ['path traversal', `sha256:../../${'a'.repeat(58)}`],
    ['trailing newline', `sha256:${sha256Hex}\n`],
  ])('rejects %s', (_label, text) => expectDigestInvalid(text));

  it('says why a digest is invalid', () => {
    expect(() => Digest.parse(`sha256:${'a'.repeat(10)}`)).toThrow(
      expect.objectContaining({
        detail: expect.objectContaining({ reason: expect.stringContaining('exactly 64') }),
      }),
    );
  });

  it('computes digests of content', () => {
    expect(Digest.of('').toString()).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(Digest.of('abc', 'sha512').hex).toHaveLength(128);
  });

  it('compares by value', () => {
    expect(Digest.of('x').equals(Digest.parse(Digest.of('x').toString()))).toBe(true);
    expect(Digest.of('x').equals(Digest.of('y'))).toBe(false);
  });

  it('round-trips every well-formed digest (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<['sha256' | 'sha512', number]>(['sha256', 64], ['sha512', 128]),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        ([algorithm, length], bytes) => {
          const hex = Buffer.from(bytes).toString('hex').slice(0, length).padEnd(length, '0');
          expect(Digest.parse(`${algorithm}:${hex}`).toString()).toBe(`${algorithm}:${hex}`);
        },
      ),
    );
  });

  it('accepts nothing but lower-case algorithm:hex of the exact length (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 140 }), (text) => {
        const parsed = Digest.tryParse(text);
        if (parsed === undefined) return;
        expect(text).toMatch(/^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/);
      }),
    );
  });
});

import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { Digest } from './digest';
import { DigestHasher, type PrefixDigest, createDigestVerifier } from './digest-verifier';

async function runThrough(
  chunks: Buffer[],
  digest: Digest,
  size?: number,
  prefix?: PrefixDigest,
): Promise<Buffer> {
  const received: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    createDigestVerifier(digest, size, { prefix }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(received);
}

describe('createDigestVerifier', () => {
  const content = Buffer.from('hello, registry');
  const digest = Digest.of(content);

  it('passes matching content through unchanged', async () => {
    const chunks = [content.subarray(0, 5), content.subarray(5)];
    expect(await runThrough(chunks, digest, content.length)).toEqual(content);
  });

  it('fails at the end on a digest mismatch instead of ending cleanly', async () => {
    const wrong = Buffer.from('hello, Registry');
    await expect(runThrough([wrong], digest)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });

  it('never delivers every byte of a corrupt body: the last chunk waits for verification', async () => {
    const wrong = Buffer.from('hello, Registry');
    const verifier = createDigestVerifier(digest, wrong.length);
    const delivered: Buffer[] = [];
    verifier.on('data', (chunk: Buffer) => delivered.push(chunk));
    const failed = new Promise((resolve) => verifier.once('error', resolve));
    verifier.write(wrong.subarray(0, 5));
    verifier.write(wrong.subarray(5));
    verifier.end();
    expect(await failed).toMatchObject({ code: 'DIGEST_INVALID' });
    expect(Buffer.concat(delivered).length).toBeLessThan(wrong.length);
  });

  it('fails as soon as more bytes than expected arrive, before the end', async () => {
    const verifier = createDigestVerifier(digest, content.length);
    verifier.resume();
    const failed = new Promise((resolve) => verifier.once('error', resolve));
    verifier.write(content);
    verifier.write(content);
    expect(await failed).toMatchObject({ code: 'SIZE_INVALID' });
    expect(verifier.writableEnded).toBe(false);
  });

  it('fails on truncated content', async () => {
    await expect(
      runThrough([content.subarray(0, 3)], digest, content.length),
    ).rejects.toMatchObject({ code: 'SIZE_INVALID' });
  });

  it('verifies sha512 digests', async () => {
    const sha512 = Digest.of(content, 'sha512');
    expect(await runThrough([content], sha512)).toEqual(content);
  });
});

describe('createDigestVerifier with the digest of bytes already sent', () => {
  const content = Buffer.from('hello, registry: the same bytes twice');
  const digest = Digest.of(content);
  const sent = (size: number, bytes: Buffer = content): PrefixDigest => ({
    size,
    digest: Digest.of(bytes.subarray(0, size)),
  });
  const chunks = [content.subarray(0, 10), content.subarray(10, 20), content.subarray(20)];

  it('passes content whose first bytes are those sent, wherever the prefix ends', async () => {
    for (const size of [0, 5, 10, 15, content.length])
      expect(await runThrough(chunks, digest, content.length, sent(size))).toEqual(content);
  });

  it('fails as soon as the first bytes differ from those sent, before the content ends', async () => {
    const other = Buffer.from(content);
    other.writeUInt8(other.readUInt8(3) ^ 0xff, 3);
    const verifier = createDigestVerifier(digest, content.length, { prefix: sent(15, other) });
    const delivered: Buffer[] = [];
    verifier.on('data', (chunk: Buffer) => delivered.push(chunk));
    const failed = new Promise((resolve) => verifier.once('error', resolve));
    for (const chunk of chunks) verifier.write(chunk);
    expect(await failed).toMatchObject({ code: 'DIGEST_INVALID' });
    // The chunk the prefix ends in is refused: of the content only the first chunk got through.
    expect(Buffer.concat(delivered).length).toBeLessThanOrEqual(10);
  });

  it('fails when the content is shorter than what was sent', async () => {
    const short = content.subarray(0, 12);
    await expect(runThrough([short], Digest.of(short), undefined, sent(20))).rejects.toMatchObject({
      code: 'SIZE_INVALID',
    });
  });
});

describe('DigestHasher', () => {
  it('hashes incrementally and counts bytes', () => {
    const hasher = new DigestHasher();
    hasher.update(Buffer.from('ab'));
    hasher.update(Buffer.from('c'));
    expect(hasher.size).toBe(3);
    expect(hasher.digest().equals(Digest.of('abc'))).toBe(true);
  });

  it('says the digest so far without ending the hash, and the final one after it', () => {
    const hasher = new DigestHasher();
    hasher.update(Buffer.from('ab'));
    const first = hasher.peek();
    expect(first.size).toBe(2);
    expect(first.digest.equals(Digest.of('ab'))).toBe(true);
    hasher.update(Buffer.from('c'));
    expect(hasher.digest().equals(Digest.of('abc'))).toBe(true);
    expect(hasher.peek().digest.equals(Digest.of('abc'))).toBe(true);
  });
});

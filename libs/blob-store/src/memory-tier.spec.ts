import { randomBytes } from 'node:crypto';
import { type ByteRange, type Digest, RegistryError } from '@dtr-cache/registry-protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import { DriverBlobStore } from './blob-store';
import { MemoryDriver } from './memory-driver';
import { MemoryTier } from './memory-tier';
import { readAll, store } from './test-support';

/** The store below the tier, counting the opens that reach it; `gate` holds opens back. */
class CountingStore extends DriverBlobStore {
  opens = 0;
  gate: Promise<void> | undefined;
  override async open(digest: Digest, range?: ByteRange) {
    this.opens += 1;
    const blob = await super.open(digest, range);
    await this.gate;
    return blob;
  }
}

describe('MemoryTier', () => {
  let below: CountingStore;
  let tier: MemoryTier;

  beforeEach(() => {
    below = new CountingStore(new MemoryDriver());
    tier = new MemoryTier(below, { maxBytes: 3000, maxBlobSize: 1000 });
  });

  it('serves a small blob from memory after its first whole pull', async () => {
    const content = randomBytes(800);
    const digest = await store(tier, content);
    for (let pull = 0; pull < 3; pull += 1) {
      const blob = await tier.open(digest);
      expect(blob.size).toBe(800);
      // The bytes are offered as they are, for one write, besides the stream.
      expect(blob.bytes).toEqual(content);
      expect(await readAll(blob.stream)).toEqual(content);
    }
    expect(below.opens).toBe(1);
    expect(tier.bytes).toBe(800);
  });

  it('serves ranges of a held blob from memory, and refuses ranges outside it', async () => {
    const content = randomBytes(500);
    const digest = await store(tier, content);
    await readAll((await tier.open(digest)).stream);
    const part = await tier.open(digest, { start: 10, end: 19 });
    expect(part.size).toBe(500);
    expect(part.range).toEqual({ start: 10, end: 19 });
    expect(await readAll(part.stream)).toEqual(content.subarray(10, 20));
    await expect(tier.open(digest, { start: 400, end: 500 })).rejects.toMatchObject({
      code: 'RANGE_INVALID',
    });
    expect(below.opens).toBe(1);
  });

  it('does not take a blob into memory on a range pull', async () => {
    const content = randomBytes(500);
    const digest = await store(tier, content);
    expect(await readAll((await tier.open(digest, { start: 0, end: 9 })).stream)).toEqual(
      content.subarray(0, 10),
    );
    expect(tier.bytes).toBe(0);
  });

  it('passes blobs larger than maxBlobSize through', async () => {
    const content = randomBytes(1001);
    const digest = await store(tier, content);
    await readAll((await tier.open(digest)).stream);
    expect(await readAll((await tier.open(digest)).stream)).toEqual(content);
    expect(below.opens).toBe(2);
    expect(tier.bytes).toBe(0);
  });

  it('drops the least recently pulled blobs to stay within maxBytes', async () => {
    const blobs = [randomBytes(1000), randomBytes(1000), randomBytes(1000), randomBytes(1000)];
    const digests = [];
    for (const content of blobs) digests.push(await store(tier, content));
    for (const digest of digests.slice(0, 3)) await readAll((await tier.open(digest)).stream);
    // Pulling the first again makes the second the least recently pulled.
    await readAll((await tier.open(digests[0] as Digest)).stream);
    await readAll((await tier.open(digests[3] as Digest)).stream);
    expect(tier.bytes).toBe(3000);
    const opens = below.opens;
    await readAll((await tier.open(digests[0] as Digest)).stream);
    await readAll((await tier.open(digests[2] as Digest)).stream);
    expect(below.opens).toBe(opens);
    await readAll((await tier.open(digests[1] as Digest)).stream);
    expect(below.opens).toBe(opens + 1);
  });

  it('forgets a deleted blob: the next pull is BLOB_UNKNOWN', async () => {
    const content = randomBytes(100);
    const digest = await store(tier, content);
    await readAll((await tier.open(digest)).stream);
    expect(await tier.delete(digest)).toBe(true);
    expect(tier.bytes).toBe(0);
    await expect(tier.open(digest)).rejects.toBeInstanceOf(RegistryError);
    expect(await tier.stat(digest)).toBeUndefined();
  });

  it('does not hold a blob read while a delete ran', async () => {
    const content = randomBytes(100);
    const digest = await store(tier, content);
    let release!: () => void;
    below.gate = new Promise((resolve) => (release = resolve));
    const pull = tier.open(digest);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await tier.delete(digest)).toBe(true);
    release();
    // The pull had opened the blob before the delete: it still gets the bytes, but not held.
    expect(await readAll((await pull).stream)).toEqual(content);
    expect(tier.bytes).toBe(0);
    await expect(tier.open(digest)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
  });

  it('holds nothing with maxBytes 0', async () => {
    const none = new MemoryTier(below, { maxBytes: 0, maxBlobSize: 1000 });
    const digest = await store(none, randomBytes(10));
    await readAll((await none.open(digest)).stream);
    await readAll((await none.open(digest)).stream);
    expect(below.opens).toBe(2);
    expect(none.bytes).toBe(0);
  });
});

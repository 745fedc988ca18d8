import { randomBytes } from 'node:crypto';
import { MemoryDriver } from '@dtr-cache/blob-store';
import {
  type CacheResult,
  Digest,
  Headers as RegistryHeaders,
  parseCacheResult,
} from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

/** A memory driver that says it has 1 MiB free: no blob fits, every miss is passed through. */
class NoRoomDriver extends MemoryDriver {
  async freeBytes(): Promise<number> {
    return 1024 * 1024;
  }
}

const repository = 'alice/app';
let origin: StandInOrigin;
let cache: RunningCache;

beforeAll(async () => {
  origin = await StandInOrigin.start();
  cache = await startCache({ upstreams: [origin.url] });
});
afterAll(async () => {
  await cache.close();
  await origin.close();
});

/** The URL of a blob at `at` (by default the shared cache), with a grant for it. */
async function blobUrl(digest: Digest, at: RunningCache = cache): Promise<string> {
  return `${at.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
}

/** A request read to its end: its status, its `X-Content-Cache` (raw) and its body. */
async function pull(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  return {
    status: response.status,
    cacheHeader: response.headers.get(RegistryHeaders.contentCache),
    body: Buffer.from(await response.arrayBuffer()),
  };
}

/** Waits until the blob is stored (a fill commits just after its clients' bodies end). */
async function stored(digest: Digest, at: RunningCache = cache): Promise<void> {
  await expect.poll(() => at.cache.local.stat(digest)).toBeDefined();
}

describe('X-Content-Cache on GET', () => {
  it('says miss for the request that filled the blob, then hit, from disk and from memory alike', async () => {
    // 300 KB: later hits come from the memory tier; 2 MB: from the disk (sendfile).
    for (const size of [300_000, 2_000_000]) {
      const content = randomBytes(size);
      const digest = origin.add(content);
      const first = await pull(await blobUrl(digest));
      expect(first).toMatchObject({ status: 200, cacheHeader: 'miss' });
      expect(first.body.equals(content)).toBe(true);
      await stored(digest);
      for (let again = 0; again < 2; again += 1) {
        const hit = await pull(await blobUrl(digest));
        expect(hit).toMatchObject({ status: 200, cacheHeader: 'hit' });
        expect(hit.body.equals(content)).toBe(true);
      }
      // The header says what the access log says.
      await expect.poll(() => cache.results(digest)).toEqual(['miss', 'hit', 'hit']);
    }
  });

  it('says miss for one of the clients of a cold blob asking at once, coalesced for the others', async () => {
    const content = randomBytes(2 * 1024 * 1024);
    const digest = origin.add(content, { kind: 'slow', delayMs: 5 });
    const url = await blobUrl(digest);
    const pulls = await Promise.all(Array.from({ length: 8 }, () => pull(url)));
    expect(pulls.every((each) => each.status === 200 && each.body.equals(content))).toBe(true);
    expect(origin.blobGets(digest)).toBe(1);
    const headers = pulls.map((each) => each.cacheHeader);
    expect(headers.filter((header) => header === 'miss')).toHaveLength(1);
    expect(headers.filter((header) => header === 'coalesced')).toHaveLength(7);
  });

  it('says pass-through for a blob served without being kept, each time', async () => {
    const own = await startCache({ upstreams: [origin.url], driver: new NoRoomDriver() });
    try {
      const content = randomBytes(300_000);
      const digest = origin.add(content);
      for (let again = 0; again < 2; again += 1) {
        const passed = await pull(await blobUrl(digest, own));
        expect(passed).toMatchObject({ status: 200, cacheHeader: 'pass-through' });
        expect(passed.body.equals(content)).toBe(true);
      }
      expect(await own.cache.local.stat(digest)).toBeUndefined();
      // Not on disk: a HEAD asks upstream.
      const head = await pull(await blobUrl(digest, own), { method: 'HEAD' });
      expect(head).toMatchObject({ status: 200, cacheHeader: 'miss' });
    } finally {
      await own.close();
    }
  });

  it('is on a Range answer (206): miss for the range that started the fill, then hit', async () => {
    const content = randomBytes(300_000);
    const digest = origin.add(content, { kind: 'slow', delayMs: 5 });
    const first = await pull(await blobUrl(digest), { headers: { Range: 'bytes=1000-1999' } });
    expect(first).toMatchObject({ status: 206, cacheHeader: 'miss' });
    expect(first.body.equals(content.subarray(1000, 2000))).toBe(true);
    await stored(digest);
    const again = await pull(await blobUrl(digest), { headers: { Range: 'bytes=-10' } });
    expect(again).toMatchObject({ status: 206, cacheHeader: 'hit' });
    expect(again.body.equals(content.subarray(-10))).toBe(true);
    expect(origin.blobGets(digest)).toBe(1);
    await expect.poll(() => cache.results(digest)).toEqual(['miss', 'hit']);
  });
});

describe('X-Content-Cache on HEAD and 304', () => {
  it('says miss for a HEAD the upstream answered, hit for one answered from disk', async () => {
    const content = randomBytes(5000);
    const digest = origin.add(content);
    const cold = await pull(await blobUrl(digest), { method: 'HEAD' });
    expect(cold).toMatchObject({ status: 200, cacheHeader: 'miss' });
    expect(await cache.cache.local.stat(digest)).toBeUndefined();
    expect((await pull(await blobUrl(digest))).cacheHeader).toBe('miss');
    await stored(digest);
    const warm = await pull(await blobUrl(digest), { method: 'HEAD' });
    expect(warm).toMatchObject({ status: 200, cacheHeader: 'hit' });
  });

  it('says hit on a 304 for a stored blob, miss on one for a blob it asked upstream about', async () => {
    const content = randomBytes(5000);
    const digest = origin.add(content);
    const conditional = { headers: { 'If-None-Match': `"${digest}"` } };
    const cold = await pull(await blobUrl(digest), conditional);
    expect(cold).toMatchObject({ status: 304, cacheHeader: 'miss' });
    expect(origin.blobGets(digest)).toBe(0);
    expect(await cache.cache.local.stat(digest)).toBeUndefined();
    expect((await pull(await blobUrl(digest))).cacheHeader).toBe('miss');
    await stored(digest);
    const warm = await pull(await blobUrl(digest), conditional);
    expect(warm).toMatchObject({ status: 304, cacheHeader: 'hit' });
  });
});

describe('X-Content-Cache on errors', () => {
  it('is not on a refused grant (401), an unknown blob (404) or an unsatisfiable range (416)', async () => {
    const content = randomBytes(5000);
    const digest = origin.add(content);
    const url = await blobUrl(digest);
    expect((await pull(url)).cacheHeader).toBe('miss');
    await stored(digest);
    const unknown = Digest.of('not anywhere');
    const answers = [
      await pull(url.replace(/grant=.*/, 'grant=forged')),
      await pull(url.replace(/grant=.*/, 'grant=forged'), { method: 'HEAD' }),
      await pull(await blobUrl(unknown)),
      await pull(await blobUrl(unknown), { method: 'HEAD' }),
      await pull(await blobUrl(unknown), { headers: { 'If-None-Match': `"${unknown}"` } }),
      await pull(url, { headers: { Range: `bytes=${content.length}-` } }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([401, 401, 404, 404, 404, 416]);
    for (const answer of answers) expect(answer.cacheHeader).toBeNull();
  });
});

describe('X-Content-Cache along a chain of caches', () => {
  it('says what each hop did: both miss, then hit at either', async () => {
    const upstreamCache = await startCache({ upstreams: [origin.url] });
    const downstreamCache = await startCache({ upstreams: [upstreamCache.url] });
    try {
      const content = randomBytes(300_000);
      const digest = origin.add(content);
      const results: Array<CacheResult | undefined> = [];
      const at = async (hop: RunningCache) => {
        const answer = await pull(await blobUrl(digest, hop));
        expect(answer.body.equals(content)).toBe(true);
        results.push(parseCacheResult(answer.cacheHeader));
      };
      await at(downstreamCache);
      await stored(digest, downstreamCache);
      await stored(digest, upstreamCache);
      await at(upstreamCache);
      await at(downstreamCache);
      expect(results).toEqual(['miss', 'hit', 'hit']);
      await expect.poll(() => upstreamCache.results(digest)).toEqual(['miss', 'hit']);
      expect(origin.blobGets(digest)).toBe(1);
    } finally {
      await downstreamCache.close();
      await upstreamCache.close();
    }
  });
});

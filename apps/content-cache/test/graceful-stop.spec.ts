import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

let origin: StandInOrigin;
let cache: RunningCache;

beforeAll(async () => {
  origin = await StandInOrigin.start();
  cache = await startCache({ upstreams: [origin.url], workers: 1 });
});

afterAll(async () => {
  await cache?.close();
  await origin?.close();
});

describe('a stop while downloads are under way', () => {
  it('waits for a download whose client left until its blob is committed, within the time given', async () => {
    // 20 chunks of 64 KiB, 50 ms apart: about a second.
    const content = randomBytes(20 * 64 * 1024);
    const digest = origin.add(content, { kind: 'slow', delayMs: 50 });
    const client = new AbortController();
    const response = await fetch(
      `${cache.url}/v2/team/app/blobs/${digest}?grant=${await origin.grant('team/app', digest)}`,
      { signal: client.signal },
    );
    await response.body?.getReader().read();
    client.abort();
    expect(cache.cache.downloadsInProgress).toBe(1);
    expect(await cache.cache.downloadsSettled(10)).toBe(false);
    expect(await cache.cache.downloadsSettled(30_000)).toBe(true);
    expect(cache.cache.downloadsInProgress).toBe(0);
    expect((await cache.cache.local.stat(digest))?.size).toBe(content.length);
    expect(origin.blobGets(digest)).toBe(1);
  });

  it('answers at once when no download is under way', async () => {
    expect(await cache.cache.downloadsSettled(0)).toBe(true);
  });
});

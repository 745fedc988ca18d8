/**
 * `X-Content-Cache` at each hop of the process topology's chain (los-angeles pulls from
 * san-francisco, which pulls from DTR): every cache says what it did for the blob answer it sent,
 * and its access log says the same.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Headers } from '@dtr-cache/registry-protocol';
import { basic, type RunningTopology, startTopology } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CACHE_HEADER = Headers.contentCache.toLowerCase();

describe('npm start: X-Content-Cache at each hop (los-angeles → san-francisco → DTR)', () => {
  let topology: RunningTopology;

  beforeAll(async () => {
    topology = await startTopology('127.0.0.230');
  });

  afterAll(async () => {
    await topology?.dispose();
  });

  /** Waits until a cache has no fill under way (its blob is stored just after a body ends). */
  async function settled(cache: string): Promise<void> {
    const url = topology.endpoints.caches[cache]?.url as string;
    await expect
      .poll(
        async () =>
          (
            JSON.parse((await topology.call(`${url}/health`)).body.toString()) as {
              fillsInProgress: number;
            }
          ).fillsInProgress,
      )
      .toBe(0);
  }

  it('says miss at both hops for a cold blob, then hit at san-francisco and at los-angeles', async () => {
    const { endpoints, call, cacheResults } = topology;
    const content = randomBytes(2_000_000);
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const demo = basic(endpoints.users.demo);
    const pushed = await call(`${endpoints.dtr.url}/v2/demo/app/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      auth: demo,
      body: content,
      type: 'application/octet-stream',
    });
    expect(pushed.status).toBe(201);

    const redirect = await call(`${endpoints.dtr.url}/v2/demo/app/blobs/${digest}`, { auth: demo });
    expect(redirect.status).toBe(307);
    const losAngeles = endpoints.caches['los-angeles']?.url as string;
    const sanFrancisco = endpoints.caches['san-francisco']?.url as string;
    const location = redirect.headers['location'] as string;
    expect(location.startsWith(`${losAngeles}/v2/demo/app/blobs/${digest}?grant=`)).toBe(true);

    const cold = await call(location);
    expect(cold.status).toBe(200);
    expect(cold.body.equals(content)).toBe(true);
    expect(cold.headers[CACHE_HEADER]).toBe('miss');
    // los-angeles's miss was san-francisco's too: it filled the blob from DTR.
    await expect.poll(() => cacheResults('san-francisco', digest)).toEqual(['miss']);
    await settled('san-francisco');
    await settled('los-angeles');

    // The same grant at the first hop: verified there offline, served from its disk.
    const atSanFrancisco = await call(location.replace(losAngeles, sanFrancisco));
    expect(atSanFrancisco.status).toBe(200);
    expect(atSanFrancisco.body.equals(content)).toBe(true);
    expect(atSanFrancisco.headers[CACHE_HEADER]).toBe('hit');

    const warm = await call(location);
    expect(warm.status).toBe(200);
    expect(warm.body.equals(content)).toBe(true);
    expect(warm.headers[CACHE_HEADER]).toBe('hit');

    // The access log line is written when a response closes.
    await expect.poll(() => cacheResults('los-angeles', digest)).toEqual(['miss', 'hit']);
    await expect.poll(() => cacheResults('san-francisco', digest)).toEqual(['miss', 'hit']);
    const statuses = await topology.dtrBlobStatuses('demo/app', digest);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';
import { type StandInCache, startStandInCache } from './stand-in-cache';

let dtr: RunningDtr;
let cache: StandInCache;
let alice: string;
let bob: string;
const admin = basic(ADMIN.username, ADMIN.password);

beforeAll(async () => {
  dtr = await startDtr();
  cache = await startStandInCache(() => dtr.url);
  alice = await dtr.createUser('alice');
  bob = await dtr.createUser('bob');
  const registered = await dtr.fetch('/api/v0/content_caches', {
    ...json('POST', { name: 'east', host: cache.url }),
    authorization: admin,
  });
  expect(registered.status).toBe(201);
  await dtr.services.cacheHealth.checkAll();
  await dtr.fetch('/api/v0/accounts/alice/settings', {
    ...json('PATCH', { contentCache: 'east' }),
    authorization: alice,
  });
});
afterAll(async () => {
  await dtr.close();
  await cache.close();
});

async function metrics(): Promise<string> {
  const response = await dtr.fetch('/metrics');
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

/** The value of one sample line, e.g. `dtr_blob_redirects_total{cache="east"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('counts requests by route and status, redirects by cache, blobs served directly by reason, queries and open upload sessions', async () => {
    const layer = await dtr.pushBlob('alice/app', Buffer.from('a layer'), alice);
    const aliceBearer = `Bearer ${await dtr.token(['repository:alice/app:pull'], alice)}`;
    expect(
      (
        await dtr.fetch(`/v2/alice/app/blobs/${layer}`, {
          authorization: aliceBearer,
          redirect: 'manual',
        })
      ).status,
    ).toBe(307);
    await dtr.pushBlob('bob/app', Buffer.from('b layer'), bob);
    const bobLayer = await dtr.pushBlob('bob/app', Buffer.from('another'), bob);
    const bobBearer = `Bearer ${await dtr.token(['repository:bob/app:pull,push'], bob)}`;
    expect(
      (await dtr.fetch(`/v2/bob/app/blobs/${bobLayer}`, { authorization: bobBearer })).status,
    ).toBe(200);
    expect(
      (await dtr.fetch('/v2/bob/app/blobs/uploads/', { method: 'POST', authorization: bobBearer }))
        .status,
    ).toBe(202);

    const text = await metrics();
    expect(sample(text, 'dtr_blob_redirects_total{cache="east"}')).toBe(1);
    expect(sample(text, 'dtr_blobs_served_directly_total{reason="no-cache"}')).toBe(1);
    expect(
      sample(text, 'dtr_http_requests_total{route="registry-blob",method="GET",status="307"}'),
    ).toBe(1);
    expect(
      sample(
        text,
        'dtr_http_requests_total{route="registry-blob-uploads",method="POST",status="201"}',
      ),
    ).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'dtr_upload_sessions')).toBe(1);
    expect(text).toMatch(
      /^dtr_database_query_duration_seconds_count\{engine="(sqlite|postgresql)",outcome="ok"\} \d+/m,
    );
    expect(text).toMatch(
      /^dtr_http_request_duration_seconds_bucket\{le="0.1",route="token"\} \d+/m,
    );
  });

  it('costs a blob redirect at most four database queries (the hot path: one per layer pulled)', async () => {
    const layer = await dtr.pushBlob('alice/app', Buffer.from('a counted layer'), alice);
    const bearer = `Bearer ${await dtr.token(['repository:alice/app:pull'], alice)}`;
    const queries = async () =>
      (await metrics())
        .split('\n')
        .filter((line) => line.startsWith('dtr_database_query_duration_seconds_count'))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    const redirect = async () =>
      expect(
        (
          await dtr.fetch(`/v2/alice/app/blobs/${layer}`, {
            authorization: bearer,
            redirect: 'manual',
          })
        ).status,
      ).toBe(307);
    // What one GET /metrics costs, so it can be taken off.
    const a = await queries();
    const b = await queries();
    await redirect();
    const c = await queries();
    expect(c - b - (b - a)).toBeLessThanOrEqual(4);
  });

  it('does not grow with the paths, methods and names clients send (abuse)', async () => {
    const flood = async (count: number) => {
      for (let index = 0; index < count; index += 1) {
        const noise = randomBytes(6).toString('hex');
        await dtr.fetch(
          [
            `/${noise}`,
            `/v2/${noise}/x/blobs/sha256:${noise}`,
            `/api/v0/${noise}`,
            `/v2/${noise}/tags/list`,
          ][index % 4] as string,
          { method: index % 2 === 0 ? 'GET' : 'DELETE' },
        );
      }
    };
    await flood(20);
    const before = (await metrics()).split('\n').length;
    await flood(200);
    expect((await metrics()).split('\n').length).toBe(before);
  });
});

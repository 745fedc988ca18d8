import { randomBytes } from 'node:crypto';
import {
  CACHE_STATS_PATH,
  CACHE_STATS_TYPE,
  type CacheStats,
  generateGrantSigningKey,
  parseCacheStats,
  signCacheStatsCredential,
} from '@dtr-cache/registry-protocol';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

const repository = 'alice/app';
let origin: StandInOrigin;
let cache: RunningCache;

beforeAll(async () => {
  origin = await StandInOrigin.start();
  cache = await startCache({
    upstreams: [origin.url],
    expiry: { ttlMs: 3_600_000, maxSize: 1 << 30, sweepIntervalMs: 60_000 },
  });
});
afterAll(async () => {
  await cache.close();
  await origin.close();
});

function credential(options: { lifetimeSeconds?: number; now?: Date; issuer?: string } = {}) {
  return signCacheStatsCredential(origin.key, {
    issuer: options.issuer ?? 'dtr',
    lifetimeSeconds: options.lifetimeSeconds ?? 30,
    now: options.now,
  });
}

async function statsWith(
  authorization: string | undefined,
  url = `${cache.url}${CACHE_STATS_PATH}`,
) {
  return fetch(url, {
    headers: authorization === undefined ? {} : { Authorization: authorization },
  });
}

async function refusal(authorization: string | undefined) {
  const response = await statsWith(authorization);
  const body = (await response.json()) as {
    errors: Array<{ code: string; detail?: { reason?: string } }>;
  };
  return {
    status: response.status,
    code: body.errors[0]?.code,
    reason: body.errors[0]?.detail?.reason,
  };
}

async function stats(): Promise<CacheStats> {
  const response = await statsWith(`Bearer ${await credential()}`);
  expect(response.status).toBe(200);
  return parseCacheStats(await response.json());
}

describe('the stats endpoint of a cache', () => {
  it('answers DTR’s signed stats credential with the counters, and they move after a pull', async () => {
    const before = await stats();
    expect(before.upstreams).toEqual([`${origin.url}/`]);
    expect(before.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Date.parse(before.startedAt)).toBeLessThanOrEqual(Date.now());
    const content = randomBytes(70_000);
    const digest = origin.add(content);
    const url = `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url)).status).toBe(200);
    await expect
      .poll(
        async () => {
          const after = await stats();
          return {
            pulls:
              after.requests.hit +
              after.requests.miss +
              after.requests.coalesced -
              (before.requests.hit + before.requests.miss + before.requests.coalesced),
            served: after.bytesServed - before.bytesServed,
            fetched: after.bytesFetched - before.bytesFetched,
            committed: after.fills.committed - before.fills.committed,
          };
        },
        { timeout: 5000 },
      )
      .toEqual({ pulls: 2, served: 2 * content.length, fetched: content.length, committed: 1 });
    const after = await stats();
    expect(after.requests.hit).toBeGreaterThan(before.requests.hit);
    expect(after.fills.inFlight).toBe(0);
    if (cache.workers === 1) {
      expect(after.disk.limitBytes).toBe(1 << 30);
      expect(after.disk.usedBytes).toBeGreaterThanOrEqual(content.length);
      expect(after.disk.blobs).toBeGreaterThanOrEqual(1);
    }
  });

  it('refuses no credential, a blob grant, an expired one, another audience, another key or issuer', async () => {
    const digest = origin.add(randomBytes(100));
    const seconds = Math.floor(Date.now() / 1000);
    const otherAudience = await new SignJWT({
      iss: 'dtr',
      sub: 'dtr',
      iat: seconds,
      exp: seconds + 30,
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: origin.key.keyId, typ: CACHE_STATS_TYPE })
      .setAudience('dtr-blob-grant')
      .sign(origin.key.privateKey);
    const stranger = await generateGrantSigningKey();
    const badSignature = await new SignJWT({
      iss: 'dtr',
      sub: 'dtr',
      iat: seconds,
      exp: seconds + 30,
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: origin.key.keyId, typ: CACHE_STATS_TYPE })
      .setAudience('dtr-cache-stats')
      .sign(stranger.privateKey);
    const cases: Array<[string, string | undefined, string]> = [
      ['no header', undefined, 'missing'],
      ['basic credentials', 'Basic YWRtaW46YWRtaW4=', 'missing'],
      ['a blob grant', `Bearer ${await origin.grant(repository, digest)}`, 'malformed'],
      [
        'expired',
        `Bearer ${await credential({ now: new Date(Date.now() - 10 * 60_000) })}`,
        'expired',
      ],
      ['another audience', `Bearer ${otherAudience}`, 'audience'],
      ['a bad signature', `Bearer ${badSignature}`, 'signature'],
      ['another issuer', `Bearer ${await credential({ issuer: 'not-dtr' })}`, 'issuer'],
      [
        'an unknown key',
        `Bearer ${await signCacheStatsCredential(stranger, { issuer: 'dtr', lifetimeSeconds: 30 })}`,
        'unknown-key',
      ],
      ['garbage', 'Bearer not.a.jwt', 'malformed'],
      ['a huge header', `Bearer ${'a'.repeat(6000)}`, 'missing'],
    ];
    for (const [label, authorization, reason] of cases)
      expect(await refusal(authorization), label).toEqual({
        status: 401,
        code: 'UNAUTHORIZED',
        reason,
      });
  });

  it('never lets the stats credential fetch a blob', async () => {
    const digest = origin.add(randomBytes(100));
    const response = await fetch(
      `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await credential()}`,
    );
    expect(response.status).toBe(401);
    expect(origin.requests.filter((request) => request.path.includes(digest.hex))).toEqual([]);
  });
});

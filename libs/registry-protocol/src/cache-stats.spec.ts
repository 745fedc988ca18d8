import { describe, expect, it } from 'vitest';
import { generateGrantSigningKey, signBlobGrant } from './blob-grant';
import {
  CacheStatsCredentialError,
  parseCacheStats,
  signCacheStatsCredential,
  verifyCacheStatsCredential,
} from './cache-stats';
import { Digest } from './digest';

describe('cache stats credentials', () => {
  it('verify with the grant keys and issuer; a blob grant is refused', async () => {
    const key = await generateGrantSigningKey();
    const keys = { keys: [key.publicKey], issuer: 'dtr' };
    const credential = await signCacheStatsCredential(key, { issuer: 'dtr', lifetimeSeconds: 30 });
    await expect(verifyCacheStatsCredential(credential, keys)).resolves.toBeUndefined();
    const grant = await signBlobGrant(key, {
      repository: 'a/b',
      digest: Digest.of(Buffer.from('x')),
      subject: 'alice',
      accountId: 1,
      generation: 1,
      lifetimeSeconds: 30,
      issuer: 'dtr',
    });
    await expect(verifyCacheStatsCredential(grant, keys)).rejects.toMatchObject({
      reason: 'malformed',
    });
    await expect(
      verifyCacheStatsCredential(credential, { keys: [key.publicKey] }),
    ).rejects.toBeInstanceOf(CacheStatsCredentialError);
    await expect(
      signCacheStatsCredential(key, { issuer: 'dtr', lifetimeSeconds: 3600 }),
    ).rejects.toThrow('at most 300 s');
  });
});

describe('parseCacheStats', () => {
  const good = {
    version: '1.0.0',
    startedAt: '2026-01-01T00:00:00.000Z',
    requests: { hit: 1, miss: 2, coalesced: 0, denied: 0, error: 0 },
    bytesServed: 10,
    bytesFetched: 5,
    fills: { committed: 2, failed: 0, inFlight: 0 },
    disk: { usedBytes: null, limitBytes: null, blobs: null },
    upstreams: ['https://dtr.example.com/'],
  };
  it('reads an answer as the cache sends it', () => {
    expect(parseCacheStats(JSON.parse(JSON.stringify(good)))).toEqual(good);
  });
  it('refuses negative, fractional or missing counts, and too many upstreams', () => {
    for (const bad of [
      { ...good, bytesServed: -1 },
      { ...good, bytesFetched: 1.5 },
      { ...good, requests: { ...good.requests, hit: '1' } },
      { ...good, fills: undefined },
      { ...good, upstreams: Array.from({ length: 65 }, () => 'https://x/') },
      { ...good, version: 'v'.repeat(201) },
      [],
      null,
    ])
      expect(() => parseCacheStats(bad), JSON.stringify(bad)?.slice(0, 80)).toThrow();
  });
});

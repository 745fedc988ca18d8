import { randomBytes } from 'node:crypto';
import { type Digest, generateGrantSigningKey, rendezvousRank } from '@dtr-cache/registry-protocol';
import { deadUrl } from '@dtr-cache/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

const repository = 'alice/app';
const running: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.close();
});

async function origins(count: number): Promise<StandInOrigin[]> {
  const started = await Promise.all(Array.from({ length: count }, () => StandInOrigin.start()));
  running.push(...started);
  // Every stand-in signs with the first one's key, as upstream caches relay DTR's keys.
  const [first, ...others] = started as [StandInOrigin, ...StandInOrigin[]];
  for (const origin of others) origin.key = first.key;
  return started;
}

async function cacheOf(options: Parameters<typeof startCache>[0]): Promise<RunningCache> {
  const cache = await startCache(options);
  running.push(cache);
  return cache;
}

describe('upstream hosts', () => {
  it('spreads fills round-robin across upstream hosts', async () => {
    const [a, b] = (await origins(2)) as [StandInOrigin, StandInOrigin];
    const cache = await cacheOf({ upstreams: [a.url, b.url] });
    for (let index = 0; index < 6; index += 1) {
      const content = randomBytes(1000 + index);
      a.add(content);
      const digest = b.add(content);
      const response = await fetch(
        `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await a.grant(repository, digest)}`,
      );
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    const gets = (origin: StandInOrigin) =>
      origin.requests.filter((request) => request.method === 'GET').length;
    expect([gets(a), gets(b)]).toEqual([3, 3]);
  });

  it('with upstreampolicy digest, fetches each blob from its rendezvous-ranked host, and fails over down that ranking', async () => {
    const group = (await origins(3)) as [StandInOrigin, StandInOrigin, StandInOrigin];
    const cache = await cacheOf({ upstreams: group.map((o) => o.url), upstreamPolicy: 'digest' });
    const ranked = (digest: Digest) =>
      rendezvousRank(digest.toString(), group, (origin) => new URL(origin.url).href);
    const blobGets = (origin: StandInOrigin, digest?: Digest) =>
      origin.requests.filter(
        (request) =>
          request.method === 'GET' &&
          request.path.includes('/blobs/') &&
          (digest === undefined || request.path.includes(digest.toString())),
      ).length;
    /** Every host has the blob; the cache pulls it. */
    const offer = (content: Buffer) => group.map((origin) => origin.add(content))[0] as Digest;
    const pull = async (content: Buffer, digest = offer(content)) => {
      const response = await fetch(
        `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await group[0].grant(repository, digest)}`,
      );
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
      return digest;
    };
    const pulled: Digest[] = [];
    for (let index = 0; index < 12; index += 1) pulled.push(await pull(randomBytes(500 + index)));
    for (const digest of pulled) {
      const [first, ...rest] = ranked(digest) as [StandInOrigin, ...StandInOrigin[]];
      expect(blobGets(first, digest)).toBe(1);
      for (const other of rest) expect(blobGets(other, digest)).toBe(0);
    }
    // Every host served its own share, none all of them.
    for (const origin of group) expect(blobGets(origin)).toBeLessThan(12);

    // The first-ranked host fails: the blob comes from the second-ranked one, and only from it.
    const content = randomBytes(900);
    const digest = offer(content);
    const [first, second, third] = ranked(digest) as [StandInOrigin, StandInOrigin, StandInOrigin];
    first.add(content, { kind: 'status', status: 503 });
    await pull(content, digest);
    expect([blobGets(first, digest), blobGets(second, digest), blobGets(third, digest)]).toEqual([
      1, 1, 0,
    ]);
  });

  it('fails over on connection errors and 5xx, and skips a host that keeps failing', async () => {
    const [healthy, failing] = (await origins(2)) as [StandInOrigin, StandInOrigin];
    const dead = await deadUrl();
    const cache = await cacheOf({ upstreams: [dead, failing.url, healthy.url] });
    for (let index = 0; index < 6; index += 1) {
      const content = randomBytes(2000 + index);
      const digest = healthy.add(content);
      failing.add(content, { kind: 'status', status: 503 });
      const response = await fetch(
        `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await healthy.grant(repository, digest)}`,
      );
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    }
    expect(healthy.requests.filter((request) => request.method === 'GET')).toHaveLength(6);
    // After three failures in a row a host is skipped for a while.
    expect(
      failing.requests.filter((request) => request.method === 'GET').length,
    ).toBeLessThanOrEqual(3);
  });

  it('answers UNAVAILABLE when no upstream can be reached', async () => {
    const [keysOnly] = (await origins(1)) as [StandInOrigin];
    const cache = await cacheOf({ upstreams: [keysOnly.url] });
    const content = randomBytes(100);
    const digest = keysOnly.add(content, { kind: 'status', status: 502 });
    const response = await fetch(
      `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await keysOnly.grant(repository, digest)}`,
    );
    expect(response.status).toBe(503);
    expect(((await response.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(
      'UNAVAILABLE',
    );
  });
});

describe('grant keys from upstream', () => {
  it('refreshes the keys once for an unknown key id, rate-limited', async () => {
    const [origin] = (await origins(1)) as [StandInOrigin];
    const cache = await cacheOf({ upstreams: [origin.url], minKeyRefreshMs: 60_000 });
    const content = randomBytes(100);
    const digest = origin.add(content);
    // Each worker fetched them at its start.
    expect(origin.keysFetched).toBe(cache.workers);
    origin.key = await generateGrantSigningKey();
    const grant = await origin.grant(repository, digest);
    // The refresh at start-up was just now: the rate limit holds the refresh back.
    expect(
      (await fetch(`${cache.url}/v2/${repository}/blobs/${digest}?grant=${grant}`)).status,
    ).toBe(401);
    expect(origin.keysFetched).toBe(cache.workers);

    const eager = await cacheOf({ upstreams: [origin.url], minKeyRefreshMs: 0 });
    const before = origin.keysFetched;
    origin.key = await generateGrantSigningKey();
    const rotated = await origin.grant(repository, digest);
    expect(
      (await fetch(`${eager.url}/v2/${repository}/blobs/${digest}?grant=${rotated}`)).status,
    ).toBe(200);
    expect(origin.keysFetched).toBe(before + 1);
  });
});

describe('a hop whose upstream has no grant keys yet', () => {
  it.each(['empty', 'unavailable'] as const)(
    'upstream answers %s: not ready, pulls 503 (not 401), and ready within seconds of the keys',
    async (answer) => {
      const [origin] = (await origins(1)) as [StandInOrigin];
      origin.keysAnswer = answer;
      const sanFrancisco = await cacheOf({ upstreams: [origin.url] });
      const losAngeles = await cacheOf({ upstreams: [sanFrancisco.url] });
      const content = randomBytes(1000);
      const digest = origin.add(content);
      const pull = async () =>
        fetch(
          `${losAngeles.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`,
        );

      for (const cache of [sanFrancisco, losAngeles]) {
        const health = await fetch(`${cache.url}/health`);
        expect(health.status).toBe(503);
        expect(await health.json()).toMatchObject({ status: 'starting', grantKeys: 0 });
      }
      // The first hop does not relay an empty set as if it were DTR's keys.
      expect((await fetch(`${sanFrancisco.url}/.well-known/jwks.json`)).status).toBe(503);
      const early = await pull();
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('1');
      expect(await early.json()).toEqual({
        errors: [
          {
            code: 'UNAVAILABLE',
            message: 'the cache has no grant keys from upstream yet',
          },
        ],
      });
      expect(origin.blobGets(digest)).toBe(0);

      origin.keysAnswer = 'key';
      await expect
        .poll(async () => (await fetch(`${losAngeles.url}/health`)).status, { timeout: 10_000 })
        .toBe(200);
      const later = await pull();
      expect(later.status).toBe(200);
      expect(Buffer.from(await later.arrayBuffer()).equals(content)).toBe(true);
    },
  );
});

describe('a chain of two caches', () => {
  it('caches at each hop; the second hop verifies grants with keys relayed by the first', async () => {
    const [origin] = (await origins(1)) as [StandInOrigin];
    const sanFrancisco = await cacheOf({ upstreams: [origin.url] });
    const losAngeles = await cacheOf({ upstreams: [sanFrancisco.url] });
    expect(await (await fetch(`${losAngeles.url}/.well-known/jwks.json`)).json()).toEqual({
      keys: [origin.key.publicKey],
      issuer: 'dtr',
    });
    // Once by each of the first hop's workers, never by the second hop.
    expect(origin.keysFetched).toBe(sanFrancisco.workers);

    const content = randomBytes(500_000);
    const digest = origin.add(content);
    const url = `${losAngeles.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
    const first = await fetch(url);
    expect(Buffer.from(await first.arrayBuffer()).equals(content)).toBe(true);
    expect(await sanFrancisco.cache.local.stat(digest)).toMatchObject({ size: content.length });
    expect(await losAngeles.cache.local.stat(digest)).toMatchObject({ size: content.length });
    expect(sanFrancisco.results(digest)).toEqual(['miss']);

    const second = await fetch(
      `${losAngeles.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`,
    );
    expect(Buffer.from(await second.arrayBuffer()).equals(content)).toBe(true);
    expect(origin.blobGets(digest)).toBe(1);
    // The second pull was a hit at the second hop: the first served only the first.
    expect(sanFrancisco.results(digest)).toEqual(['miss']);
    expect(losAngeles.results(digest)).toEqual(['miss', 'hit']);

    const forged = await fetch(
      `${losAngeles.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant('alice/other', digest)}`,
    );
    expect(forged.status).toBe(401);
  });
});

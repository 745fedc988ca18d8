import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  sampleStats,
  type StandInStatsCache,
  startStandInStatsCache,
} from './cache-dashboard-stand-in';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';
import { createTestDatabase, type TestDatabase } from './test-database';

// Two DTR replicas on one database sample the caches: one of them per interval.
let shared: string;
let database: TestDatabase;
let one: RunningDtr;
let two: RunningDtr;
let cache: StandInStatsCache;
let other: StandInStatsCache;
let cacheId: number;
let otherId: number;
const admin = basic(ADMIN.username, ADMIN.password);
// Far from now: no timer tick of either replica claims these slots.
let future = Date.now() + 400 * 24 * 3600 * 1000;
const nextSlotTime = () => (future += 3_600_000);

beforeAll(async () => {
  shared = await mkdtemp(join(tmpdir(), 'dtr-sampler-'));
  database = await createTestDatabase(shared);
  const env = {
    DTR_API_CONTENTCACHES_SAMPLING_INTERVAL: '1h',
    DTR_API_CONTENTCACHES_HEALTHTIMEOUT: '1s',
    DTR_API_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(shared, 'blobs'),
    DTR_API_AUTH_KEYFILE: join(shared, 'token-key.pem'),
  };
  const replica = { database: { ...database, drop: async () => undefined } };
  one = await startDtr('', env, replica);
  two = await startDtr('', env, replica);
  cache = await startStandInStatsCache(() => one.url);
  other = await startStandInStatsCache(() => two.url);
  const register = async (name: string, hosts: string[], networks: string[] = []) => {
    const response = await one.fetch('/api/v0/content_caches', {
      ...json('POST', { name, hosts, networks }),
      authorization: admin,
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: number }).id;
  };
  cacheId = await register('sampled', [cache.url], ['127.0.0.0/8']);
  otherId = await register('other', [other.url]);
}, 60_000);
afterAll(async () => {
  await cache?.close();
  await other?.close();
  await one?.close();
  await two?.close();
  await database?.drop();
  await rm(shared, { recursive: true, force: true });
});

describe('the cache stats sampler', () => {
  it('samples each member once per interval across two replicas, with DTR’s credential', async () => {
    cache.stats = sampleStats(30, 10, ['https://dtr.example.com/']);
    cache.requests.length = 0;
    const at = nextSlotTime();
    const [first, second] = await Promise.all([
      one.services.cacheStats.tick(at),
      two.services.cacheStats.tick(at),
    ]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    // The loser does not sample again for the same interval.
    expect(await one.services.cacheStats.tick(at + 1)).toBe(false);
    expect(cache.requests).toEqual([{ accepted: true }]);
    const slot = one.services.cacheStats.slotOf(at);
    const samples = await two.services.cacheStats.store.samples(slot);
    expect(samples.map((sample) => [sample.cacheId, sample.host, sample.slot])).toEqual(
      expect.arrayContaining([
        [cacheId, cache.url, slot],
        [otherId, other.url, slot],
      ]),
    );
    expect(samples).toHaveLength(2);
    const sampled = samples.find((sample) => sample.cacheId === cacheId);
    expect(sampled?.stats).toEqual(cache.stats);
    expect(sampled?.error).toBeUndefined();
  });

  it('stores a failed sample with its reason, bounded in time and size, and goes on', async () => {
    const cases: Array<[StandInStatsCache['behaviour'], string]> = [
      ['error-500', 'HTTP 500'],
      ['bad-json', 'bad answer'],
      ['huge', 'answer too large'],
      ['slow', 'timeout'],
    ];
    for (const [behaviour, reason] of cases) {
      cache.behaviour = behaviour;
      const at = nextSlotTime();
      const started = Date.now();
      expect(await one.services.cacheStats.tick(at)).toBe(true);
      expect(Date.now() - started, behaviour).toBeLessThan(4000);
      const samples = await one.services.cacheStats.store.samples(
        one.services.cacheStats.slotOf(at),
        cacheId,
      );
      expect(
        samples.map((sample) => ({ stats: sample.stats, error: sample.error })),
        behaviour,
      ).toEqual([{ stats: undefined, error: reason }]);
    }
    cache.behaviour = 'ok';
    await other.close();
    const at = nextSlotTime();
    expect(await two.services.cacheStats.tick(at)).toBe(true);
    const [down] = await two.services.cacheStats.store.samples(
      two.services.cacheStats.slotOf(at),
      otherId,
    );
    expect(down?.error).toBe('unreachable');
  });

  it('deletes samples older than two hours', async () => {
    const store = one.services.cacheStats.store;
    const old = one.services.cacheStats.slotOf(nextSlotTime());
    await store.record([
      { cacheId, host: cache.url, slot: old, sampledAt: new Date(), stats: undefined, error: 'x' },
    ]);
    expect(await store.samples(old, cacheId)).toHaveLength(1);
    await one.services.cacheStats.tick(future + 3 * 3_600_000);
    const left = await store.samples(old, cacheId);
    expect(left.map((sample) => sample.slot)).not.toContain(old);
  });

  it('counts pulls per cache by setting and by network match, added once per interval', async () => {
    const alice = await one.createUser('alice');
    const bob = await one.createUser('bob');
    const digest = await one.pushBlob('alice/app', Buffer.from('a layer'), alice);
    const chose = await one.fetch('/api/v0/accounts/alice/settings', {
      ...json('PATCH', { contentCache: 'sampled' }),
      authorization: alice,
    });
    expect(chose.status).toBe(200);
    const pull = async (dtr: RunningDtr, user: string, authorization: string) => {
      const bearer = `Bearer ${await dtr.token([`repository:alice/app:pull`], authorization)}`;
      const response = await dtr.fetch(`/v2/alice/app/blobs/${digest}`, {
        authorization: bearer,
        redirect: 'manual',
      });
      const body = await response.text();
      expect([200, 307], `${user}: ${body}`).toContain(response.status);
    };
    await pull(one, 'alice', alice);
    await pull(two, 'alice', alice);
    await pull(one, 'alice', alice);
    // Bob has no setting: his pulls (from 127.0.0.1) go to the cache of that network.
    const bobDigest = await one.pushBlob('bob/app', Buffer.from('a layer'), bob);
    const bearer = `Bearer ${await two.token(['repository:bob/app:pull'], bob)}`;
    const response = await two.fetch(`/v2/bob/app/blobs/${bobDigest}`, {
      authorization: bearer,
      redirect: 'manual',
    });
    await response.arrayBuffer();
    // Nothing is written per pull: only the tick adds the counts.
    expect((await one.services.cacheStats.store.pulls()).get(cacheId)).toBeUndefined();
    await one.services.cacheStats.tick(nextSlotTime());
    await two.services.cacheStats.tick(nextSlotTime());
    expect((await one.services.cacheStats.store.pulls()).get(cacheId)).toEqual({
      bySetting: 3,
      byNetwork: 1,
    });
    expect((await one.services.cacheStats.store.usersByCache()).get(cacheId)).toBe(1);

    // A replica that stops adds what it counted since its last tick: a restart loses nothing.
    await pull(one, 'alice', alice);
    await one.services.cacheStats.stop();
    expect((await one.services.cacheStats.store.pulls()).get(cacheId)).toEqual({
      bySetting: 4,
      byNetwork: 1,
    });
  });

  it('keeps slots as times, so samples stay in order when the interval changes', () => {
    const at = Date.UTC(2026, 11, 7, 12, 0, 40);
    const slot = one.services.cacheStats.slotOf(at);
    expect(slot).toBe(Date.UTC(2026, 11, 7, 12, 0, 0));
    expect(slot).toBeLessThanOrEqual(at);
  });
});

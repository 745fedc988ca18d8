import { randomBytes } from 'node:crypto';
import { type Digest, rendezvousRank } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';
import { type StandInCache, startStandInCache } from './stand-in-cache';

// Cache groups (several members, each blob to one) and the choice of a cache by client network.
// DTR trusts X-Forwarded-For from 127.0.0.1 here, so a request can come from any address.
let dtr: RunningDtr;
let members: StandInCache[];
let alice: string;
let layers: Digest[];
const admin = basic(ADMIN.username, ADMIN.password);

beforeAll(async () => {
  dtr = await startDtr('network: { trustedproxies: [127.0.0.1/32] }');
  // The last two serve the caches chosen by network (a host is a member of one cache only).
  members = await Promise.all([1, 2, 3, 4, 5, 6].map(() => startStandInCache(() => dtr.url)));
  alice = await dtr.createUser('alice');
  layers = [];
  for (let index = 0; index < 30; index += 1)
    layers.push(await dtr.pushBlob('alice/app', randomBytes(64 + index), alice));
}, 60_000);
afterAll(async () => {
  await dtr?.close();
  await Promise.all((members ?? []).map((member) => member.close()));
});

const hostsOf = (count: number) => members.slice(0, count).map((member) => member.url);

async function register(body: Record<string, unknown>) {
  return dtr.fetch('/api/v0/content_caches', { ...json('POST', body), authorization: admin });
}

async function update(id: number, body: Record<string, unknown>) {
  return dtr.fetch(`/api/v0/content_caches/${id}`, {
    ...json('PATCH', body),
    authorization: admin,
  });
}

async function choose(body: Record<string, unknown>) {
  const response = await dtr.fetch('/api/v0/accounts/alice/settings', {
    ...json('PATCH', body),
    authorization: alice,
  });
  expect(response.status).toBe(200);
}

/** Where DTR sends alice's GET of `digest`: the member's URL, or `direct` (served by DTR). */
async function destination(digest: Digest, from?: string): Promise<string> {
  const bearer = `Bearer ${await dtr.token(['repository:alice/app:pull'], alice)}`;
  const response = await dtr.fetch(`/v2/alice/app/blobs/${digest}`, {
    authorization: bearer,
    redirect: 'manual',
    headers: from === undefined ? {} : { 'X-Forwarded-For': from },
  });
  if (response.status === 200) {
    await response.arrayBuffer();
    return 'direct';
  }
  expect(response.status).toBe(307);
  return new URL(response.headers.get('location') as string).origin;
}

const ranked = (digest: Digest, hosts: readonly string[]) =>
  rendezvousRank(digest.toString(), hosts, (host) => host);

describe('cache groups', () => {
  let groupId: number;

  it('registers a group with hosts and shows host (its first member), hosts and each member', async () => {
    const response = await register({ name: 'office', hosts: hostsOf(3) });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, unknown>;
    groupId = body['id'] as number;
    expect(body).toMatchObject({
      name: 'office',
      host: members[0]?.url,
      hosts: hostsOf(3),
      networks: [],
      members: hostsOf(3).map((host) => ({ host })),
    });
    await dtr.services.cacheHealth.checkAll();
    const shown = (await (
      await dtr.fetch(`/api/v0/content_caches/${groupId}`, { authorization: admin })
    ).json()) as { health: { status: string }; members: Array<{ health: { status: string } }> };
    expect(shown.health.status).toBe('healthy');
    expect(shown.members.map((member) => member.health.status)).toEqual([
      'healthy',
      'healthy',
      'healthy',
    ]);
    await choose({ contentCache: 'office' });
  });

  it('sends each blob to its rendezvous member, the same one every time, spread over all', async () => {
    const seen = new Set<string>();
    for (const digest of layers) {
      const first = await destination(digest);
      expect(first).toBe(ranked(digest, hostsOf(3))[0]);
      expect(await destination(digest)).toBe(first);
      seen.add(first);
    }
    expect(seen.size).toBe(3);
  });

  it('moves only the blobs of a member that becomes unhealthy, to their next-ranked member', async () => {
    const down = members[1] as StandInCache;
    const downUrl = down.url;
    await down.close();
    await dtr.services.cacheHealth.check(
      (await dtr.services.caches.find(groupId)) as NonNullable<
        Awaited<ReturnType<typeof dtr.services.caches.find>>
      >,
    );
    for (const digest of layers) {
      const ranking = ranked(digest, hostsOf(3));
      const expected = ranking[0] === downUrl ? ranking[1] : ranking[0];
      expect(await destination(digest)).toBe(expected);
    }
    members[1] = await startStandInCache(() => dtr.url);
  });

  it('replaces the members with PATCH: an added member takes about 1/N of the blobs, from the others', async () => {
    const three = [members[0]?.url, members[2]?.url, members[3]?.url] as string[];
    const before = new Map<string, string>();
    const patched = await update(groupId, { hosts: [members[0]?.url, members[2]?.url] });
    expect(patched.status).toBe(200);
    for (const digest of layers) before.set(digest.toString(), await destination(digest));
    const grown = await update(groupId, { hosts: three });
    expect(grown.status).toBe(200);
    // A new member is checked at once, in the background: wait for it, not for the race.
    await dtr.services.cacheHealth.checkAll();
    expect(((await grown.json()) as { hosts: string[] }).hosts).toEqual(three);
    let moved = 0;
    for (const digest of layers) {
      const now = await destination(digest);
      expect(now).toBe(ranked(digest, three)[0]);
      if (now !== before.get(digest.toString())) {
        expect(now).toBe(members[3]?.url);
        moved += 1;
      }
    }
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(layers.length / 2);
  });

  it('serves the blob itself, counted, when no member is healthy', async () => {
    const closed = await startStandInCache(() => dtr.url);
    const url = closed.url;
    await closed.close();
    const created = (await (await register({ name: 'dark', hosts: [url] })).json()) as {
      id: number;
    };
    await dtr.services.cacheHealth.checkAll();
    await choose({ contentCache: 'dark' });
    const metric = async () =>
      Number(
        /dtr_blobs_served_directly_total\{reason="cache-unhealthy"\} (\d+)/.exec(
          await (await dtr.fetch('/metrics')).text(),
        )?.[1] ?? 0,
      );
    const before = await metric();
    expect(await destination(layers[0] as Digest)).toBe('direct');
    expect(await metric()).toBe(before + 1);
    await dtr.fetch(`/api/v0/content_caches/${created.id}`, {
      method: 'DELETE',
      authorization: admin,
    });
  });

  it("refuses a host that is a member of another cache (409), and never gives a deleted cache's id again", async () => {
    const idOf = async (response: Response) => ((await response.json()) as { id: number }).id;
    const remove = (id: number) =>
      dtr.fetch(`/api/v0/content_caches/${id}`, { method: 'DELETE', authorization: admin });
    const first = await register({ name: 'first', host: 'https://one.example' });
    expect(first.status).toBe(201);
    const taken = await register({ name: 'second', hosts: ['https://one.example/'] });
    expect(taken.status).toBe(409);
    expect(await taken.json()).toMatchObject({
      errors: [
        { code: 'CONFLICT', detail: { host: 'https://one.example', contentCache: 'first' } },
      ],
    });
    const spare = await register({ name: 'spare', host: 'https://spare.example' });
    const spareId = await idOf(spare);
    expect(
      (await update(spareId, { hosts: ['https://spare.example', 'https://one.example'] })).status,
    ).toBe(409);
    expect((await remove(spareId)).status).toBe(204);
    const next = await register({ name: 'next', host: 'https://spare.example' });
    expect(next.status).toBe(201);
    const nextId = await idOf(next);
    expect(nextId).toBeGreaterThan(spareId);
    // The old id names nothing: a stale DELETE removes no other cache.
    expect((await remove(spareId)).status).toBe(404);
    expect((await remove(nextId)).status).toBe(204);
    expect((await remove(await idOf(first))).status).toBe(204);
  });

  it('refuses bad members and networks, naming the entry; only administrators change caches', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'bad1', hosts: [] }, /hosts must be a list of 1 to 32/],
      [
        { name: 'bad2', hosts: Array.from({ length: 33 }, (_, i) => `https://c${i}.example`) },
        /1 to 32/,
      ],
      [{ name: 'bad3', hosts: ['https://a.example', 'ftp://b.example'] }, /^hosts\[1\]: /],
      [{ name: 'bad4', hosts: ['https://a.example', 'https://a.example/'] }, /listed twice/],
      [{ name: 'bad5', host: 'https://a.example', hosts: ['https://a.example'] }, /not both/],
      [{ name: 'bad6', hosts: ['http://169.254.169.254'] }, /^hosts\[0\]: /],
      [
        { name: 'bad7', host: 'https://a.example', networks: ['10.1.2.3/8'] },
        /^networks\[0\]: .*host bits/,
      ],
      [{ name: 'bad8', host: 'https://a.example', networks: 'x' }, /networks must be a list/],
      [
        {
          name: 'bad9',
          host: 'https://a.example',
          networks: Array.from({ length: 257 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
        },
        /at most 256/,
      ],
    ];
    for (const [body, message] of cases) {
      const response = await register(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const envelope = (await response.json()) as {
        errors: Array<{ code: string; message: string }>;
      };
      expect(envelope.errors[0]?.code).toBe('INVALID_REQUEST');
      expect(envelope.errors[0]?.message).toMatch(message);
    }
    expect((await update(groupId, {})).status).toBe(400);
    expect((await update(groupId, { name: 'renamed' })).status).toBe(400);
    expect((await update(999_999, { hosts: ['https://a.example'] })).status).toBe(404);
    const denied = await dtr.fetch(`/api/v0/content_caches/${groupId}`, {
      ...json('PATCH', { hosts: ['https://a.example'] }),
      authorization: alice,
    });
    expect(denied.status).toBe(403);
  });
});

describe('choice by client network', () => {
  beforeAll(async () => {
    for (const [name, member, networks] of [
      ['campus', 4, ['10.0.0.0/8', '2001:db8::/32']],
      ['building', 5, ['10.20.0.0/16', '2001:db8:20::/48']],
    ] as const) {
      expect((await register({ name, host: members[member]?.url, networks })).status).toBe(201);
    }
    await dtr.services.cacheHealth.checkAll();
    await choose({ contentCacheChoice: 'automatic' });
  });

  it('sends a user without a setting to the cache of their network, the longest prefix winning, v4 and v6', async () => {
    const digest = layers[0] as Digest;
    expect(await destination(digest, '10.1.2.3')).toBe(members[4]?.url);
    expect(await destination(digest, '10.20.1.2')).toBe(members[5]?.url);
    expect(await destination(digest, '2001:db8:1::9')).toBe(members[4]?.url);
    expect(await destination(digest, '2001:db8:20::9')).toBe(members[5]?.url);
    expect(await destination(digest, '192.168.7.7')).toBe('direct');
  });

  it('says where pulls go and why on the settings', async () => {
    const settings = await dtr.fetch('/api/v0/accounts/alice/settings', {
      authorization: alice,
      headers: { 'X-Forwarded-For': '10.20.1.2' },
    });
    expect(await settings.json()).toEqual({
      contentCache: '',
      contentCacheChoice: 'automatic',
      pullsGoTo: { contentCache: 'building', reason: 'network', healthy: true },
    });
  });

  it('lets an explicit setting win: a chosen cache, or no cache at all', async () => {
    const digest = layers[1] as Digest;
    await choose({ contentCache: 'campus' });
    expect(await destination(digest, '10.20.1.2')).toBe(members[4]?.url);
    await choose({ contentCache: '' });
    expect(await destination(digest, '10.20.1.2')).toBe('direct');
    await choose({ contentCacheChoice: 'automatic' });
    expect(await destination(digest, '10.20.1.2')).toBe(members[5]?.url);
  });

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    const untrusting = await startDtr();
    try {
      const cache = await startStandInCache(() => untrusting.url);
      try {
        const bob = await untrusting.createUser('bob');
        const layer = await untrusting.pushBlob('bob/app', randomBytes(100), bob);
        expect(
          (
            await untrusting.fetch('/api/v0/content_caches', {
              ...json('POST', { name: 'lan', host: cache.url, networks: ['10.0.0.0/8'] }),
              authorization: admin,
            })
          ).status,
        ).toBe(201);
        await untrusting.services.cacheHealth.checkAll();
        const bearer = `Bearer ${await untrusting.token(['repository:bob/app:pull'], bob)}`;
        const response = await untrusting.fetch(`/v2/bob/app/blobs/${layer}`, {
          authorization: bearer,
          redirect: 'manual',
          headers: { 'X-Forwarded-For': '10.1.2.3' },
        });
        // The TCP peer (127.0.0.1) is in no cache's networks: served directly.
        expect(response.status).toBe(200);
      } finally {
        await cache.close();
      }
    } finally {
      await untrusting.close();
    }
  });
});

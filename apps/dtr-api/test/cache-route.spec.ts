import { randomBytes } from 'node:crypto';
import {
  type CacheRoute,
  type Digest,
  formatCacheRoute,
  Headers,
  rendezvousRank,
} from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';
import { type StandInCache, startStandInCache } from './stand-in-cache';

// X-Content-Cache-Route: a blob request asks DTR for a named cache, one of its members, or no
// cache, whatever the user's setting (alice chose `alpha`). Caches: alpha (members 0, 1), beta
// (members 2, 3) and dark (a member nothing listens on: unhealthy).
let dtr: RunningDtr;
let members: StandInCache[];
let alice: string;
let bob: string;
let content: Buffer;
let layer: Digest;
let otherLayer: Digest;
const DARK_MEMBER = 'http://127.0.0.1:1';
const admin = basic(ADMIN.username, ADMIN.password);

beforeAll(async () => {
  dtr = await startDtr();
  members = await Promise.all([0, 1, 2, 3].map(() => startStandInCache(() => dtr.url)));
  alice = await dtr.createUser('alice');
  bob = await dtr.createUser('bob');
  content = randomBytes(300);
  layer = await dtr.pushBlob('alice/app', content, alice);
  otherLayer = await dtr.pushBlob('alice/app', randomBytes(200), alice);
  await dtr.pushBlob('alice/public', content, alice);
  const published = await dtr.fetch('/api/v0/repositories/alice/public', {
    ...json('PATCH', { visibility: 'public' }),
    authorization: alice,
  });
  expect(published.status).toBe(200);
  for (const [name, hosts] of [
    ['alpha', [members[0]?.url, members[1]?.url]],
    ['beta', [members[2]?.url, members[3]?.url]],
    ['dark', [DARK_MEMBER]],
  ] as const) {
    const response = await dtr.fetch('/api/v0/content_caches', {
      ...json('POST', { name, hosts }),
      authorization: admin,
    });
    expect(response.status).toBe(201);
  }
  await dtr.services.cacheHealth.checkAll();
  expect(
    (
      await dtr.fetch('/api/v0/accounts/alice/settings', {
        ...json('PATCH', { contentCache: 'alpha' }),
        authorization: alice,
      })
    ).status,
  ).toBe(200);
}, 60_000);
afterAll(async () => {
  await dtr?.close();
  await Promise.all((members ?? []).map((member) => member.close()));
});

const hostsOf = (...indexes: number[]) => indexes.map((index) => members[index]?.url as string);
const rankedFirst = (digest: Digest, hosts: readonly string[]) =>
  rendezvousRank(digest.toString(), hosts, (host) => host)[0];

/** A blob request to DTR, redirects not followed; `route` is the header's raw value. */
function blob(
  digest: Digest,
  options: { authorization?: string; route?: string; method?: string; repository?: string } = {},
) {
  const { route, repository = 'alice/app', ...rest } = options;
  return dtr.fetch(`/v2/${repository}/blobs/${digest}`, {
    ...rest,
    redirect: 'manual',
    headers: route === undefined ? {} : { [Headers.contentCacheRoute]: route },
  });
}

const bearer = async (authorization: string | undefined, repository = 'alice/app') =>
  `Bearer ${await dtr.token([`repository:${repository}:pull`], authorization)}`;

/** The member a 307 sends to (its origin), after checking it is a signed redirect. */
async function redirectedTo(response: Response): Promise<string> {
  expect(response.status, await response.clone().text()).toBe(307);
  expect(response.headers.get('cache-control')).toBe('no-store');
  const location = new URL(response.headers.get('location') as string);
  expect(location.searchParams.get('grant')).toBeTruthy();
  return location.origin;
}

async function firstError(response: Response) {
  return ((await response.json()) as { errors: Array<Record<string, unknown>> }).errors[0];
}

async function metric(pattern: RegExp): Promise<number> {
  return Number(pattern.exec(await (await dtr.fetch('/metrics')).text())?.[1] ?? 0);
}

const route = (value: CacheRoute) => formatCacheRoute(value);

describe('X-Content-Cache-Route for a user who may pull', () => {
  it('none: DTR serves the blob itself (200, 206, 304) although alice chose alpha', async () => {
    const auth = await bearer(alice);
    expect(await redirectedTo(await blob(layer, { authorization: auth }))).toBe(
      rankedFirst(layer, hostsOf(0, 1)),
    );
    const before = await metric(/dtr_blobs_served_directly_total\{reason="route-none"\} (\d+)/);
    const served = await blob(layer, { authorization: auth, route: 'none' });
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(content);
    const ranged = await dtr.fetch(`/v2/alice/app/blobs/${layer}`, {
      authorization: auth,
      headers: { [Headers.contentCacheRoute]: 'none', Range: 'bytes=0-9' },
    });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(content.subarray(0, 10));
    const unchanged = await dtr.fetch(`/v2/alice/app/blobs/${layer}`, {
      authorization: auth,
      headers: { [Headers.contentCacheRoute]: 'NONE', 'If-None-Match': `"${layer}"` },
    });
    expect(unchanged.status).toBe(304);
    expect(await metric(/dtr_blobs_served_directly_total\{reason="route-none"\} (\d+)/)).toBe(
      before + 3,
    );
  });

  it('a cache: its rendezvous member, for alice whose setting (alpha) stays as it was', async () => {
    const auth = await bearer(alice);
    const before = await metric(/dtr_blob_redirects_total\{cache="beta"\} (\d+)/);
    for (const digest of [layer, otherLayer]) {
      const routed = await blob(digest, { authorization: auth, route: 'beta' });
      expect(await redirectedTo(routed)).toBe(rankedFirst(digest, hostsOf(2, 3)));
    }
    expect(await metric(/dtr_blob_redirects_total\{cache="beta"\} (\d+)/)).toBe(before + 2);
    const settings = await dtr.fetch('/api/v0/accounts/alice/settings', { authorization: alice });
    expect(await settings.json()).toMatchObject({
      contentCache: 'alpha',
      contentCacheChoice: 'cache',
    });
    expect(await redirectedTo(await blob(layer, { authorization: auth }))).toBe(
      rankedFirst(layer, hostsOf(0, 1)),
    );
  });

  it('a member: exactly that one, each in turn, and HEAD as GET', async () => {
    const auth = await bearer(alice);
    for (const member of hostsOf(2, 3)) {
      const value = route({ kind: 'cache', cache: 'beta', member });
      expect(await redirectedTo(await blob(layer, { authorization: auth, route: value }))).toBe(
        member,
      );
      const head = await blob(layer, { authorization: auth, route: value, method: 'HEAD' });
      expect(await redirectedTo(head)).toBe(member);
    }
    const head = await blob(layer, { authorization: auth, route: 'none', method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(content.length));
  });

  it('a member DTR judges unhealthy: sent there all the same; the cache alone: 503', async () => {
    const auth = await bearer(alice);
    const dark = await dtr.services.caches.findByName('dark');
    expect(dark && dtr.services.cacheHealth.healthyMembers(dark)).toEqual([]);
    const value = route({ kind: 'cache', cache: 'dark', member: DARK_MEMBER });
    expect(await redirectedTo(await blob(layer, { authorization: auth, route: value }))).toBe(
      DARK_MEMBER,
    );
    const refused = await blob(layer, { authorization: auth, route: 'dark' });
    expect(refused.status).toBe(503);
    expect(await firstError(refused)).toMatchObject({
      code: 'UNAVAILABLE',
      detail: { cache: 'dark', reason: 'no member is healthy' },
    });
  });

  it('refuses an unknown cache, a member of another cache or of none (404)', async () => {
    const auth = await bearer(alice);
    const unknown = await blob(layer, { authorization: auth, route: 'gamma' });
    expect(unknown.status).toBe(404);
    expect(await firstError(unknown)).toMatchObject({
      code: 'NOT_FOUND',
      detail: { cache: 'gamma' },
    });
    for (const member of [...hostsOf(2), DARK_MEMBER, 'https://elsewhere.example:5000']) {
      const value = route({ kind: 'cache', cache: 'alpha', member });
      const refused = await blob(layer, { authorization: auth, route: value });
      expect(refused.status, member).toBe(404);
      expect(await firstError(refused)).toMatchObject({
        code: 'NOT_FOUND',
        detail: { cache: 'alpha', member },
      });
    }
  });

  it('refuses malformed and oversized values (400) in the envelope, echoing no 8 KiB back', async () => {
    const auth = await bearer(alice);
    for (const value of [
      '',
      'Alpha!',
      'alpha; region=eu',
      'none; member=http://a.example',
      `alpha; member=ftp://a.example`,
      'alpha, beta',
    ]) {
      const refused = await blob(layer, { authorization: auth, route: value });
      expect(refused.status, value).toBe(400);
      expect((await firstError(refused))?.['code']).toBe('INVALID_REQUEST');
    }
    const huge = await blob(layer, { authorization: auth, route: 'a'.repeat(8192) });
    expect(huge.status).toBe(400);
    const text = await huge.text();
    expect(text.length).toBeLessThan(512);
    expect(JSON.parse(text)).toMatchObject({
      errors: [{ code: 'INVALID_REQUEST', detail: { length: 8192, limit: 2048 } }],
    });
  });

  it('the grant in a routed redirect works for that repository and digest only', async () => {
    const routed = await blob(layer, { authorization: await bearer(alice), route: 'beta' });
    const location = new URL(routed.headers.get('location') as string);
    expect(location.origin).toBe(rankedFirst(layer, hostsOf(2, 3)));
    const viaMember = await fetch(location);
    expect(viaMember.status).toBe(200);
    expect(Buffer.from(await viaMember.arrayBuffer())).toEqual(content);
    const query = location.search;
    expect((await dtr.fetch(`/v2/alice/app/blobs/${layer}${query}`)).status).toBe(200);
    for (const path of [`alice/app/blobs/${otherLayer}`, `alice/public/blobs/${layer}`]) {
      const refused = await dtr.fetch(`/v2/${path}${query}`);
      expect(refused.status, path).toBe(401);
      expect((await firstError(refused))?.['code']).toBe('UNAUTHORIZED');
    }
    // A cache filling its copy carries a grant: the header is ignored there, even a bad one.
    for (const value of ['gamma', 'Alpha!']) {
      const fill = await dtr.fetch(`/v2/alice/app/blobs/${layer}${query}`, {
        headers: { [Headers.contentCacheRoute]: value },
      });
      expect(fill.status, value).toBe(200);
    }
  });

  it('checks the blob first: a digest not in the repository is BLOB_UNKNOWN, route or not', async () => {
    const missing = await blob(otherLayer, {
      authorization: await bearer(alice, 'alice/public'),
      repository: 'alice/public',
      route: 'gamma',
    });
    expect(missing.status).toBe(404);
    expect((await firstError(missing))?.['code']).toBe('BLOB_UNKNOWN');
  });

  it('counts no routed pull as a pull by setting or network on the dashboard', async () => {
    const auth = await bearer(alice);
    dtr.services.cachePulls.take();
    for (const value of ['alpha', 'beta', 'none'])
      await (await blob(layer, { authorization: auth, route: value })).arrayBuffer();
    expect([...dtr.services.cachePulls.take().values()]).toEqual([]);
    await (await blob(layer, { authorization: auth })).arrayBuffer();
    expect([...dtr.services.cachePulls.take().values()]).toEqual([{ bySetting: 1, byNetwork: 0 }]);
  });
});

describe('X-Content-Cache-Route never widens access', () => {
  it('gives a user without pull access the same refusal with or without the header', async () => {
    const bobBearer = `Bearer ${await dtr.token(['repository:alice/app:pull'], bob)}`;
    for (const authorization of [bob, bobBearer, undefined]) {
      const plain = await blob(layer, authorization === undefined ? {} : { authorization });
      expect([401, 403]).toContain(plain.status);
      const expected = {
        status: plain.status,
        challenge: plain.headers.get('www-authenticate'),
        body: await plain.text(),
      };
      for (const value of [
        'beta',
        'none',
        route({ kind: 'cache', cache: 'beta', member: hostsOf(2)[0] as string }),
        'Alpha!',
        'a'.repeat(8192),
      ]) {
        const routed = await blob(layer, {
          ...(authorization ? { authorization } : {}),
          route: value,
        });
        expect(
          {
            status: routed.status,
            challenge: routed.headers.get('www-authenticate'),
            body: await routed.text(),
          },
          value.slice(0, 20),
        ).toEqual(expected);
      }
    }
  });

  it('anonymous pulls of a public repository: none is served, a cache asks to sign in (401)', async () => {
    // Anonymous registry clients pull with an anonymous token (without one, DTR challenges).
    const options = {
      repository: 'alice/public',
      authorization: await bearer(undefined, 'alice/public'),
    };
    expect((await blob(layer, options)).status).toBe(200);
    const served = await blob(layer, { ...options, route: 'none' });
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(content);
    const member = hostsOf(3)[0] as string;
    for (const value of ['beta', route({ kind: 'cache', cache: 'beta', member }), 'gamma']) {
      const refused = await blob(layer, { ...options, route: value });
      expect(refused.status, value).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain(
        'scope="repository:alice/public:pull"',
      );
      expect((await firstError(refused))?.['code']).toBe('UNAUTHORIZED');
    }
  });

  it('lets a signed-in user who is no administrator list the caches and their members', async () => {
    const listed = await dtr.fetch('/api/v0/content_caches', { authorization: bob });
    expect(listed.status).toBe(200);
    const { contentCaches } = (await listed.json()) as {
      contentCaches: Array<{ name: string; hosts: string[]; members: Array<{ host: string }> }>;
    };
    expect(contentCaches.map(({ name, hosts }) => ({ name, hosts }))).toEqual([
      { name: 'alpha', hosts: hostsOf(0, 1) },
      { name: 'beta', hosts: hostsOf(2, 3) },
      { name: 'dark', hosts: [DARK_MEMBER] },
    ]);
    expect(contentCaches[1]?.members.map((member) => member.host)).toEqual(hostsOf(2, 3));
    expect((await dtr.fetch('/api/v0/content_caches')).status).toBe(401);
  });
});

import {
  BlobGrantVerifier,
  Digest,
  generateGrantSigningKey,
  type GrantKeySet,
  MediaTypes,
  signBlobGrant,
} from '@dtr-cache/registry-protocol';
import { deadUrl } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrantKeyring } from '../src/grants/grant-keyring';
import { openDatabase } from '../src/store/database';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';
import { type StandInCache, startStandInCache } from './stand-in-cache';

let dtr: RunningDtr;
let cache: StandInCache;
let admin: string;
let alice: string;
let bob: string;
let layer: Digest;
const content = Buffer.from('layer bytes served through the cache');

/** The grant claims naming an account as DTR signs them. */
async function grantSubject(name: string) {
  const account = await dtr.services.accounts.find(name);
  if (!account) throw new Error(`no account ${name}`);
  return { subject: name, accountId: account.id, generation: account.generation };
}

async function envelope(response: Response) {
  return (
    (await response.json()) as {
      errors: Array<{ code: string; message: string; detail?: { reason?: string } }>;
    }
  ).errors[0];
}

async function registerCache(name: string, host: string): Promise<{ id: number }> {
  const response = await dtr.fetch('/api/v0/content_caches', {
    ...json('POST', { name, host }),
    authorization: admin,
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: number };
}

async function deleteCache(id: number): Promise<void> {
  const response = await dtr.fetch(`/api/v0/content_caches/${id}`, {
    method: 'DELETE',
    authorization: admin,
  });
  expect(response.status).toBe(204);
}

async function selectCache(user: string, authorization: string, contentCache: string) {
  return dtr.fetch(`/api/v0/accounts/${user}/settings`, {
    ...json('PATCH', { contentCache }),
    authorization,
  });
}

beforeAll(async () => {
  dtr = await startDtr();
  cache = await startStandInCache(() => dtr.url);
  admin = basic(ADMIN.username, ADMIN.password);
  alice = await dtr.createUser('alice');
  bob = await dtr.createUser('bob');
  layer = await dtr.pushBlob('alice/app', content, alice);
});
afterAll(async () => {
  await cache.close();
  await dtr.close();
});

describe('/api/v0/content_caches', () => {
  it('registers, lists, reads and deletes caches (administrators change)', async () => {
    const created = await dtr.fetch('/api/v0/content_caches', {
      ...json('POST', { name: 'region-us', host: `${cache.url}/` }),
      authorization: admin,
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as {
      id: number;
      name: string;
      host: string;
      health: { status: string };
    };
    expect(body).toMatchObject({
      name: 'region-us',
      host: cache.url,
      health: { status: expect.stringMatching(/unknown|healthy/) },
    });
    expect(created.headers.get('location')).toBe(`/api/v0/content_caches/${body.id}`);
    expect(
      await (await dtr.fetch(`/api/v0/content_caches/${body.id}`, { authorization: alice })).json(),
    ).toMatchObject({ name: 'region-us' });
    const listed = (await (
      await dtr.fetch('/api/v0/content_caches', { authorization: alice })
    ).json()) as { contentCaches: Array<{ name: string }> };
    expect(listed.contentCaches.map((entry) => entry.name)).toContain('region-us');
    expect(
      (
        await dtr.fetch(`/api/v0/content_caches/${body.id}`, {
          method: 'DELETE',
          authorization: alice,
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await dtr.fetch(`/api/v0/content_caches/${body.id}`, {
          method: 'DELETE',
          authorization: admin,
        })
      ).status,
    ).toBe(204);
    expect(
      (await dtr.fetch(`/api/v0/content_caches/${body.id}`, { authorization: admin })).status,
    ).toBe(404);
  });

  it('validates names and hosts, and refuses duplicates, non-administrators and anonymous callers', async () => {
    // A host is a member of one cache only: these tests leave the stand-in cache's URL free.
    const dup = await registerCache('dup', 'http://dup.example:5000');
    const cases: Array<[unknown, number, string]> = [
      [{ name: 'dup', host: 'http://other.example:5000' }, 409, 'CONFLICT'],
      [{ name: 'dup-host', host: 'http://dup.example:5000/' }, 409, 'CONFLICT'],
      [{ name: 'Bad Name', host: cache.url }, 400, 'INVALID_REQUEST'],
      [{ name: 'creds', host: 'http://user:pw@cache:5000' }, 400, 'INVALID_REQUEST'],
      [{ name: 'query', host: 'http://cache:5000/?x=1' }, 400, 'INVALID_REQUEST'],
      [{ name: 'fragment', host: 'http://cache:5000/#x' }, 400, 'INVALID_REQUEST'],
      [{ name: 'relative', host: 'cache:5000' }, 400, 'INVALID_REQUEST'],
      [{ name: 'ftp', host: 'ftp://cache' }, 400, 'INVALID_REQUEST'],
      [{ host: cache.url }, 400, 'INVALID_REQUEST'],
    ];
    for (const [body, status, code] of cases) {
      const response = await dtr.fetch('/api/v0/content_caches', {
        ...json('POST', body),
        authorization: admin,
      });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect((await envelope(response))?.code).toBe(code);
    }
    expect(
      (
        await dtr.fetch('/api/v0/content_caches', {
          ...json('POST', { name: 'mine', host: cache.url }),
          authorization: alice,
        })
      ).status,
    ).toBe(403);
    expect((await dtr.fetch('/api/v0/content_caches')).status).toBe(401);
    expect((await dtr.fetch('/api/v0/content_caches/abc', { authorization: admin })).status).toBe(
      404,
    );
    await deleteCache(dup.id);
  });

  it('reports each cache health from periodic checks', async () => {
    const up = await registerCache('up', cache.url);
    const down = await registerCache('down', await deadUrl());
    await dtr.services.cacheHealth.checkAll();
    const listed = (await (
      await dtr.fetch('/api/v0/content_caches', { authorization: admin })
    ).json()) as {
      contentCaches: Array<{ id: number; health: { status: string; error: string | null } }>;
    };
    expect(listed.contentCaches.find((entry) => entry.id === up.id)?.health.status).toBe('healthy');
    expect(listed.contentCaches.find((entry) => entry.id === down.id)?.health).toMatchObject({
      status: 'unhealthy',
      error: expect.any(String),
    });
    await deleteCache(up.id);
    await deleteCache(down.id);
  });

  it('turns the setting of every user who chose a deleted cache back to automatic (by network)', async () => {
    const doomed = await registerCache('doomed', cache.url);
    expect((await selectCache('bob', bob, 'doomed')).status).toBe(200);
    expect(
      (
        await dtr.fetch(`/api/v0/content_caches/${doomed.id}`, {
          method: 'DELETE',
          authorization: admin,
        })
      ).status,
    ).toBe(204);
    expect(
      await (await dtr.fetch('/api/v0/accounts/bob/settings', { authorization: bob })).json(),
    ).toEqual({
      contentCache: '',
      contentCacheChoice: 'automatic',
      pullsGoTo: { contentCache: null, reason: 'no-network', healthy: null },
    });
  });
});

describe('/api/v0/accounts/{username}/settings', () => {
  beforeAll(async () => {
    if (!(await dtr.services.caches.findByName('los-angeles')))
      await registerCache('los-angeles', cache.url);
  });

  it('lets users choose their own cache, no cache, or the cache of their network, and says where pulls go', async () => {
    const chosen = {
      contentCache: 'los-angeles',
      contentCacheChoice: 'cache',
      pullsGoTo: { contentCache: 'los-angeles', reason: 'chosen', healthy: expect.any(Boolean) },
    };
    expect(await (await selectCache('alice', alice, 'los-angeles')).json()).toEqual(chosen);
    expect(
      await (await dtr.fetch('/api/v0/accounts/alice/settings', { authorization: alice })).json(),
    ).toEqual(chosen);
    expect(await (await selectCache('alice', alice, '')).json()).toEqual({
      contentCache: '',
      contentCacheChoice: 'none',
      pullsGoTo: { contentCache: null, reason: 'none', healthy: null },
    });
    const automatic = await dtr.fetch('/api/v0/accounts/alice/settings', {
      ...json('PATCH', { contentCacheChoice: 'automatic' }),
      authorization: alice,
    });
    expect(await automatic.json()).toEqual({
      contentCache: '',
      contentCacheChoice: 'automatic',
      pullsGoTo: { contentCache: null, reason: 'no-network', healthy: null },
    });
  });

  it("lets administrators change anyone's settings, and nobody else", async () => {
    expect((await selectCache('alice', admin, 'los-angeles')).status).toBe(200);
    expect((await selectCache('alice', bob, 'los-angeles')).status).toBe(403);
    expect((await dtr.fetch('/api/v0/accounts/alice/settings')).status).toBe(401);
    expect(
      (await dtr.fetch('/api/v0/accounts/nobody/settings', { authorization: admin })).status,
    ).toBe(404);
  });

  it('refuses an unknown cache name with a clear message', async () => {
    const response = await selectCache('alice', alice, 'atlantis');
    expect(response.status).toBe(400);
    expect(await envelope(response)).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'there is no content cache named "atlantis"',
    });
    const missing = await dtr.fetch('/api/v0/accounts/alice/settings', {
      ...json('PATCH', {}),
      authorization: alice,
    });
    expect(missing.status).toBe(400);
  });
});

describe('signed blob redirects', () => {
  let aliceBearer: string;
  let keys: GrantKeySet;

  beforeAll(async () => {
    if (!(await dtr.services.caches.findByName('los-angeles')))
      await registerCache('los-angeles', cache.url);
    await dtr.services.cacheHealth.checkAll();
    expect((await selectCache('alice', alice, 'los-angeles')).status).toBe(200);
    aliceBearer = `Bearer ${await dtr.token(['repository:alice/app:pull,push'], alice)}`;
    keys = (await (await dtr.fetch('/.well-known/jwks.json')).json()) as GrantKeySet;
  });

  it('redirects a user with a cache to it, with a grant for exactly that repository, digest and user', async () => {
    for (const method of ['GET', 'HEAD']) {
      const response = await dtr.fetch(`/v2/alice/app/blobs/${layer}`, {
        method,
        authorization: aliceBearer,
        redirect: 'manual',
      });
      expect(response.status).toBe(307);
      const location = new URL(response.headers.get('location') as string);
      expect(`${location.origin}${location.pathname}`).toBe(
        `${cache.url}/v2/alice/app/blobs/${layer}`,
      );
      const verified = await new BlobGrantVerifier(keys, { issuer: 'dtr' }).verify(
        location.searchParams.get('grant') ?? undefined,
        {
          repository: 'alice/app',
          digest: layer,
        },
      );
      expect(verified).toMatchObject({
        subject: 'alice',
        repository: 'alice/app',
        digest: layer.toString(),
      });
      expect(verified.expiresAt.getTime() - verified.issuedAt.getTime()).toBe(60_000);
    }
  });

  it('serves the blob through the cache when the client follows the redirect', async () => {
    const before = cache.requests.length;
    const response = await dtr.fetch(`/v2/alice/app/blobs/${layer}`, {
      authorization: aliceBearer,
    });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    expect(cache.requests.slice(before).map((request) => request.url.split('?')[0])).toEqual([
      `/v2/alice/app/blobs/${layer}`,
    ]);
  });

  it('serves a grant-bearing request (a cache filling) directly, without credentials', async () => {
    const grant = await signBlobGrant(dtr.services.grantKeys.signingKey, {
      repository: 'alice/app',
      digest: layer,
      ...(await grantSubject('alice')),
      lifetimeSeconds: 60,
      issuer: 'dtr',
    });
    const response = await dtr.fetch(`/v2/alice/app/blobs/${layer}?grant=${grant}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
  });

  it('never redirects manifests', async () => {
    const config = await dtr.pushBlob('alice/app', Buffer.from('{}'), alice);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: config.toString(), size: 2 },
      layers: [
        { mediaType: MediaTypes.ociLayerGzip, digest: layer.toString(), size: content.length },
      ],
    });
    expect(
      (
        await dtr.fetch('/v2/alice/app/manifests/v1', {
          method: 'PUT',
          authorization: aliceBearer,
          headers: { 'Content-Type': MediaTypes.ociManifest },
          body: manifest,
        })
      ).status,
    ).toBe(201);
    const response = await dtr.fetch('/v2/alice/app/manifests/v1', {
      authorization: aliceBearer,
      redirect: 'manual',
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(manifest);
  });

  it('serves users without a cache, and anonymous clients, directly', async () => {
    const bobLayer = await dtr.pushBlob('bob/tool', Buffer.from('bob layer'), bob);
    const bobBearer = `Bearer ${await dtr.token(['repository:bob/tool:pull'], bob)}`;
    expect(
      (
        await dtr.fetch(`/v2/bob/tool/blobs/${bobLayer}`, {
          authorization: bobBearer,
          redirect: 'manual',
        })
      ).status,
    ).toBe(200);
    await dtr.fetch('/api/v0/repositories/bob/tool', {
      ...json('PATCH', { visibility: 'public' }),
      authorization: bob,
    });
    const anonymous = `Bearer ${await dtr.token(['repository:bob/tool:pull'])}`;
    expect(
      (
        await dtr.fetch(`/v2/bob/tool/blobs/${bobLayer}`, {
          authorization: anonymous,
          redirect: 'manual',
        })
      ).status,
    ).toBe(200);
  });

  it('checks access and membership of the blob before redirecting', async () => {
    const unknown = await dtr.fetch(`/v2/alice/app/blobs/${Digest.of('not here')}`, {
      authorization: aliceBearer,
      redirect: 'manual',
    });
    expect(unknown.status).toBe(404);
    const noScope = await dtr.fetch(`/v2/alice/app/blobs/${layer}`, { redirect: 'manual' });
    expect(noScope.status).toBe(401);
  });

  it('serves the blob itself when the user’s cache is unhealthy', async () => {
    await registerCache('broken', await deadUrl());
    await dtr.services.cacheHealth.checkAll();
    expect((await selectCache('alice', alice, 'broken')).status).toBe(200);
    const response = await dtr.fetch(`/v2/alice/app/blobs/${layer}`, {
      authorization: aliceBearer,
      redirect: 'manual',
    });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    expect((await selectCache('alice', alice, 'los-angeles')).status).toBe(200);
  });

  it('refuses grants that fail verification: tampered, expired, another repository or digest, unknown key', async () => {
    const alice = await grantSubject('alice');
    const sign = (
      overrides: Partial<Parameters<typeof signBlobGrant>[1]> = {},
      key = dtr.services.grantKeys.signingKey,
    ) =>
      signBlobGrant(key, {
        repository: 'alice/app',
        digest: layer,
        ...alice,
        lifetimeSeconds: 60,
        issuer: 'dtr',
        ...overrides,
      });
    const good = await sign();
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const tamperedPayload = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        subject: 'mallory',
        exp: 9_999_999_999,
      }),
    ).toString('base64url');
    const bobLayer = await dtr.pushBlob('bob/tool', Buffer.from('bob layer'), bob);
    const cases: Array<[string, string, string]> = [
      ['tampered', `${header}.${tamperedPayload}.${signature}`, `/v2/alice/app/blobs/${layer}`],
      [
        'expired',
        await sign({ now: new Date(Date.now() - 10 * 60_000) }),
        `/v2/alice/app/blobs/${layer}`,
      ],
      ['another repository', good, `/v2/bob/tool/blobs/${layer}`],
      ['another digest', await sign({ repository: 'bob/tool' }), `/v2/bob/tool/blobs/${bobLayer}`],
      [
        'unknown key',
        await sign({}, await generateGrantSigningKey()),
        `/v2/alice/app/blobs/${layer}`,
      ],
    ];
    for (const [label, grant, path] of cases) {
      const response = await dtr.fetch(`${path}?grant=${grant}`, { redirect: 'manual' });
      expect(response.status, label).toBe(401);
      expect((await envelope(response))?.code, label).toBe('UNAUTHORIZED');
    }
  });
});

describe('grant signing keys', () => {
  it('publishes the previous key after a rotation until its grants have expired', async () => {
    const keyring = dtr.services.grantKeys;
    const old = keyring.signingKey;
    const oldGrant = await signBlobGrant(old, {
      repository: 'alice/app',
      digest: layer,
      ...(await grantSubject('alice')),
      lifetimeSeconds: 60,
      issuer: 'dtr',
    });
    const rotated = await keyring.rotate();
    expect(rotated.keyId).not.toBe(old.keyId);
    const published = (await (await dtr.fetch('/.well-known/jwks.json')).json()) as GrantKeySet;
    expect(published.keys.map((key) => key.kid)).toEqual(
      expect.arrayContaining([old.keyId, rotated.keyId]),
    );
    expect(published.keys.every((key) => !('d' in key))).toBe(true);
    expect((await dtr.fetch(`/v2/alice/app/blobs/${layer}?grant=${oldGrant}`)).status).toBe(200);
    await keyring.prune(new Date(Date.now() + 10 * 60_000));
    const later = (await (await dtr.fetch('/.well-known/jwks.json')).json()) as GrantKeySet;
    expect(later.keys.map((key) => key.kid)).toEqual([rotated.keyId]);
  });

  it('keeps its keys across restarts (persisted in the database)', async () => {
    const reopened = await openDatabase(dtr.database.location);
    try {
      const keyring = await GrantKeyring.openGrantKeys(reopened.database, {
        issuer: 'dtr',
        retentionMs: 120_000,
      });
      expect(keyring.signingKey.keyId).toBe(dtr.services.grantKeys.signingKey.keyId);
    } finally {
      await reopened.database.destroy();
    }
  });
});

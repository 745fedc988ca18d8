import { type Digest, parseBearerChallenge } from '@dtr-cache/registry-protocol';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;
let alice: string;
let bob: string;
let privateLayer: Digest;
let publicLayer: Digest;

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { errors: Array<{ code: string }> }).errors[0]?.code as string;
}

beforeAll(async () => {
  dtr = await startDtr();
  alice = await dtr.createUser('alice');
  bob = await dtr.createUser('bob');
  privateLayer = await dtr.pushBlob('alice/private', Buffer.from('secret layer'), alice);
  publicLayer = await dtr.pushBlob('alice/public', Buffer.from('public layer'), alice);
  const patch = await dtr.fetch('/api/v0/repositories/alice/public', {
    method: 'PATCH',
    authorization: alice,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ visibility: 'public' }),
  });
  expect(patch.status).toBe(200);
});
afterAll(async () => dtr.close());

describe('the token service', () => {
  it('refuses wrong credentials with 401', async () => {
    const response = await dtr.fetch(
      '/auth/token?service=dtr&scope=repository:alice/private:pull',
      { authorization: basic('alice', 'wrong') },
    );
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe('UNAUTHORIZED');
    const unknownUser = await dtr.fetch('/auth/token?service=dtr', {
      authorization: basic('nobody', 'whatever1'),
    });
    expect(unknownUser.status).toBe(401);
  });

  it('grants only what the user may do', async () => {
    const token = await dtr.token(
      [
        'repository:alice/private:pull,push',
        'repository:alice/public:pull,push',
        'registry:catalog:*',
      ],
      bob,
    );
    expect(decodeJwt(token)).toMatchObject({
      sub: 'bob',
      aud: 'dtr',
      iss: 'dtr',
      access: [{ type: 'repository', name: 'alice/public', actions: ['pull'] }],
    });
  });

  it('gives anonymous clients public pull only', async () => {
    const token = await dtr.token([
      'repository:alice/private:pull',
      'repository:alice/public:pull,push',
    ]);
    expect(decodeJwt(token)).toMatchObject({
      sub: '',
      access: [{ name: 'alice/public', actions: ['pull'] }],
    });
  });

  it('grants push to a new repository only in a namespace the user owns', async () => {
    const token = await dtr.token(
      ['repository:bob/new:pull,push', 'repository:alice/new:pull,push'],
      bob,
    );
    expect(decodeJwt(token)['access']).toEqual([
      { type: 'repository', name: 'bob/new', actions: ['pull', 'push'] },
    ]);
  });

  it('rejects a malformed scope and another service', async () => {
    const scope = await dtr.fetch('/auth/token?service=dtr&scope=garbage', { authorization: bob });
    expect(scope.status).toBe(400);
    const service = await dtr.fetch('/auth/token?service=elsewhere', { authorization: bob });
    expect(service.status).toBe(400);
  });
});

describe('registry access', () => {
  it('lets anonymous clients pull a public repository but not a private one', async () => {
    const anonymous = `Bearer ${await dtr.token(['repository:alice/public:pull', 'repository:alice/private:pull'])}`;
    expect(
      (await dtr.fetch(`/v2/alice/public/blobs/${publicLayer}`, { authorization: anonymous }))
        .status,
    ).toBe(200);
    const denied = await dtr.fetch(`/v2/alice/private/blobs/${privateLayer}`, {
      authorization: anonymous,
    });
    expect(denied.status).toBe(401);
    expect(parseBearerChallenge(denied.headers.get('www-authenticate') ?? '')).toMatchObject({
      scope: 'repository:alice/private:pull',
      error: 'insufficient_scope',
    });
  });

  it('keeps another user out of a private repository, without telling whether it exists', async () => {
    const bobBearer = `Bearer ${await dtr.token(['repository:alice/private:pull', 'repository:alice/absent:pull'], bob)}`;
    const existing = await dtr.fetch(`/v2/alice/private/blobs/${privateLayer}`, {
      authorization: bobBearer,
    });
    const absent = await dtr.fetch(`/v2/alice/absent/blobs/${privateLayer}`, {
      authorization: bobBearer,
    });
    expect([existing.status, absent.status]).toEqual([401, 401]);
    expect(await errorCode(existing)).toBe(await errorCode(absent));
  });

  it('challenges a request without the needed scope (no token at all)', async () => {
    const response = await dtr.fetch(`/v2/alice/private/blobs/${privateLayer}`);
    expect(response.status).toBe(401);
    expect(parseBearerChallenge(response.headers.get('www-authenticate') ?? '')).toMatchObject({
      scope: 'repository:alice/private:pull',
    });
  });

  it('refuses push with a pull-only token', async () => {
    const pullOnly = `Bearer ${await dtr.token(['repository:alice/public:pull'], bob)}`;
    const response = await dtr.fetch('/v2/alice/public/blobs/uploads/', {
      method: 'POST',
      authorization: pullOnly,
    });
    expect(response.status).toBe(401);
  });

  it('lets organization members push and pull the organization repositories', async () => {
    const admin = basic(ADMIN.username, ADMIN.password);
    const created = await dtr.fetch('/api/v0/accounts', {
      method: 'POST',
      authorization: admin,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'team', type: 'organization' }),
    });
    expect(created.status).toBe(201);
    expect(
      (
        await dtr.fetch('/api/v0/accounts/team/members/bob', {
          method: 'PUT',
          authorization: admin,
        })
      ).status,
    ).toBe(200);
    const layer = await dtr.pushBlob('team/service', Buffer.from('team layer'), bob);
    const aliceToken = await dtr.token(['repository:team/service:pull'], alice);
    expect(decodeJwt(aliceToken)['access']).toEqual([]);
    const bobBearer = `Bearer ${await dtr.token(['repository:team/service:pull'], bob)}`;
    expect(
      (await dtr.fetch(`/v2/team/service/blobs/${layer}`, { authorization: bobBearer })).status,
    ).toBe(200);
  });

  it('accepts HTTP Basic on the registry API too, answering DENIED without access', async () => {
    expect(
      (await dtr.fetch(`/v2/alice/private/blobs/${privateLayer}`, { authorization: alice })).status,
    ).toBe(200);
    const denied = await dtr.fetch(`/v2/alice/private/blobs/${privateLayer}`, {
      authorization: bob,
    });
    expect(denied.status).toBe(403);
    expect(await errorCode(denied)).toBe('DENIED');
  });

  it('stops honouring tokens of deleted accounts', async () => {
    const dave = await dtr.createUser('dave');
    const token = `Bearer ${await dtr.token([], dave)}`;
    expect((await dtr.fetch('/v2/', { authorization: token })).status).toBe(200);
    expect(
      (
        await dtr.fetch('/api/v0/accounts/dave', {
          method: 'DELETE',
          authorization: basic(ADMIN.username, ADMIN.password),
        })
      ).status,
    ).toBe(204);
    expect((await dtr.fetch('/v2/', { authorization: token })).status).toBe(401);
  });
});

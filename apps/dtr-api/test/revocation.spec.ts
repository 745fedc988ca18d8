import { type Digest, signBlobGrant } from '@dtr-cache/registry-protocol';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;
let admin: string;

beforeAll(async () => {
  dtr = await startDtr();
  admin = basic(ADMIN.username, ADMIN.password);
});
afterAll(async () => dtr.close());

/** A grant as DTR signs it in a redirect, for the account `name` as it is now. */
async function grantFor(name: string, repository: string, digest: Digest, issuer = 'dtr') {
  const account = await dtr.services.accounts.find(name);
  if (!account) throw new Error(`no account ${name}`);
  return signBlobGrant(dtr.services.grantKeys.signingKey, {
    repository,
    digest,
    subject: name,
    accountId: account.id,
    generation: account.generation,
    lifetimeSeconds: 60,
    issuer,
  });
}

/** What DTR answers a cache that fills `digest` of `repository` with `grant` (the last hop). */
async function fill(repository: string, digest: Digest, grant: string) {
  const response = await dtr.fetch(`/v2/${repository}/blobs/${digest}?grant=${grant}`);
  const text = await response.text();
  const reason =
    response.status === 200
      ? undefined
      : (JSON.parse(text) as { errors: Array<{ detail?: { reason?: string } }> }).errors[0]?.detail
          ?.reason;
  return { status: response.status, reason };
}

describe('DTR re-checks the account of a grant before it serves bytes for it', () => {
  it('refuses a grant once its user is removed from the organization', async () => {
    const alice = await dtr.createUser('alice');
    expect(
      (
        await dtr.fetch('/api/v0/accounts', {
          ...json('POST', { name: 'team', type: 'organization' }),
          authorization: admin,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await dtr.fetch('/api/v0/accounts/team/members/alice', {
          method: 'PUT',
          authorization: admin,
        })
      ).status,
    ).toBe(200);
    const digest = await dtr.pushBlob('team/app', Buffer.from('team layer'), alice);
    const grant = await grantFor('alice', 'team/app', digest);
    expect(await fill('team/app', digest, grant)).toEqual({ status: 200, reason: undefined });

    expect(
      (
        await dtr.fetch('/api/v0/accounts/team/members/alice', {
          method: 'DELETE',
          authorization: admin,
        })
      ).status,
    ).toBe(204);
    expect(await fill('team/app', digest, grant)).toEqual({ status: 401, reason: 'revoked' });
  });

  it('refuses a grant for a public repository once it is made private', async () => {
    const bob = await dtr.createUser('bob');
    await dtr.createUser('carol');
    expect(
      (
        await dtr.fetch('/api/v0/repositories/bob', {
          ...json('POST', { name: 'open', visibility: 'public' }),
          authorization: bob,
        })
      ).status,
    ).toBe(201);
    const digest = await dtr.pushBlob('bob/open', Buffer.from('open layer'), bob);
    const grant = await grantFor('carol', 'bob/open', digest);
    expect((await fill('bob/open', digest, grant)).status).toBe(200);
    expect(
      (
        await dtr.fetch('/api/v0/repositories/bob/open', {
          ...json('PATCH', { visibility: 'private' }),
          authorization: bob,
        })
      ).status,
    ).toBe(200);
    expect(await fill('bob/open', digest, grant)).toEqual({ status: 401, reason: 'revoked' });
  });

  it('refuses grants and tokens of a deleted account, also when the name is taken again', async () => {
    const dave = await dtr.createUser('dave', 'dave-first-password');
    const digest = await dtr.pushBlob('dave/app', Buffer.from('dave layer'), dave);
    const grant = await grantFor('dave', 'dave/app', digest);
    const token = await dtr.token(['repository:dave/app:pull'], dave);
    const oldId = (await dtr.services.accounts.find('dave'))?.id;

    expect(
      (await dtr.fetch('/api/v0/accounts/dave', { method: 'DELETE', authorization: admin })).status,
    ).toBe(204);
    const again = await dtr.createUser('dave', 'dave-second-password');
    expect((await dtr.services.accounts.find('dave'))?.id).toBeGreaterThan(oldId as number);
    const sameDigest = await dtr.pushBlob('dave/app', Buffer.from('dave layer'), again);
    expect(sameDigest.toString()).toBe(digest.toString());

    expect(await fill('dave/app', digest, grant)).toEqual({ status: 401, reason: 'revoked' });
    const withOldToken = await dtr.fetch(`/v2/dave/app/blobs/${digest}`, {
      authorization: `Bearer ${token}`,
    });
    expect(withOldToken.status).toBe(401);
    expect(withOldToken.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('refuses grants and tokens issued before a password change; the new password works', async () => {
    const erin = await dtr.createUser('erin', 'erin-old-password');
    const digest = await dtr.pushBlob('erin/app', Buffer.from('erin layer'), erin);
    const grant = await grantFor('erin', 'erin/app', digest);
    const token = await dtr.token(['repository:erin/app:pull'], erin);
    const changed = await dtr.fetch('/api/v0/accounts/erin/password', {
      ...json('PUT', { password: 'erin-new-password', currentPassword: 'erin-old-password' }),
      authorization: erin,
    });
    expect(changed.status).toBe(204);
    expect(await fill('erin/app', digest, grant)).toEqual({ status: 401, reason: 'revoked' });
    expect(
      (await dtr.fetch(`/v2/erin/app/blobs/${digest}`, { authorization: `Bearer ${token}` }))
        .status,
    ).toBe(401);
    expect((await dtr.fetch('/api/v0/accounts/erin', { authorization: erin })).status).toBe(401);
    const fresh = basic('erin', 'erin-new-password');
    expect((await dtr.fetch('/api/v0/accounts/erin', { authorization: fresh })).status).toBe(200);
    expect(
      (await fill('erin/app', digest, await grantFor('erin', 'erin/app', digest))).status,
    ).toBe(200);
  });

  it('asks for the current password before changing your own, and lets only administrators change others', async () => {
    const frank = await dtr.createUser('frank');
    await dtr.createUser('gina');
    const cases: Array<[string, unknown, string, number]> = [
      ['frank', { password: 'new-password-1' }, frank, 400],
      ['frank', { password: 'new-password-1', currentPassword: 'wrong-password' }, frank, 403],
      ['frank', { password: 'short', currentPassword: 'frank-password' }, frank, 400],
      ['gina', { password: 'new-password-1', currentPassword: 'gina-password' }, frank, 403],
      ['gina', { password: 'set-by-admin-1' }, admin, 204],
    ];
    for (const [user, body, authorization, status] of cases) {
      const response = await dtr.fetch(`/api/v0/accounts/${user}/password`, {
        ...json('PUT', body),
        authorization,
      });
      expect(response.status, `${user} ${JSON.stringify(body)}`).toBe(status);
    }
    expect(
      (await dtr.fetch('/api/v0/accounts/gina', { authorization: basic('gina', 'set-by-admin-1') }))
        .status,
    ).toBe(200);
  });
});

describe('grant claims at DTR', () => {
  it('refuses a grant of another issuer, without the audience, or with absurd times, even when signed with its key', async () => {
    const henry = await dtr.createUser('henry');
    const digest = await dtr.pushBlob('henry/app', Buffer.from('henry layer'), henry);
    const account = await dtr.services.accounts.find('henry');
    const seconds = Math.floor(Date.now() / 1000);
    const handMade = (claims: Record<string, unknown>, audience: string | undefined) => {
      const jwt = new SignJWT({
        repository: 'henry/app',
        digest: digest.toString(),
        iss: 'dtr',
        sub: 'henry',
        uid: account?.id,
        gen: account?.generation,
        iat: seconds,
        exp: seconds + 60,
        ...claims,
      }).setProtectedHeader({
        alg: 'EdDSA',
        kid: dtr.services.grantKeys.signingKey.keyId,
        typ: 'dtr-blob-grant+jwt',
      });
      if (audience !== undefined) jwt.setAudience(audience);
      return jwt.sign(dtr.services.grantKeys.signingKey.privateKey);
    };
    expect((await fill('henry/app', digest, await handMade({}, 'dtr-blob-grant'))).status).toBe(
      200,
    );
    const cases: Array<[string, string, string]> = [
      ['another issuer', await grantFor('henry', 'henry/app', digest, 'elsewhere'), 'issuer'],
      ['no audience', await handMade({}, undefined), 'audience'],
      ['the token audience', await handMade({}, 'dtr'), 'audience'],
      ['never expires', await handMade({ iat: 1e308, exp: 1e308 }, 'dtr-blob-grant'), 'malformed'],
      [
        'issued in the far future',
        await handMade({ iat: seconds + 3e8, exp: seconds + 3e8 + 60 }, 'dtr-blob-grant'),
        'not-yet-valid',
      ],
    ];
    for (const [label, grant, reason] of cases)
      expect(await fill('henry/app', digest, grant), label).toEqual({ status: 401, reason });
  });

  it('does not take a registry token for a grant, nor a grant for a registry token', async () => {
    const iris = await dtr.createUser('iris');
    const digest = await dtr.pushBlob('iris/app', Buffer.from('iris layer'), iris);
    const token = await dtr.token(['repository:iris/app:pull'], iris);
    expect((await fill('iris/app', digest, token)).status).toBe(401);
    const grant = await grantFor('iris', 'iris/app', digest);
    expect(
      (await dtr.fetch(`/v2/iris/app/blobs/${digest}`, { authorization: `Bearer ${grant}` }))
        .status,
    ).toBe(401);
  });
});

describe('ids are never reused', () => {
  it('gives a new account and a new content cache ids no deleted one had', async () => {
    await dtr.createUser('last-one');
    const lastId = (await dtr.services.accounts.find('last-one'))?.id as number;
    await dtr.fetch('/api/v0/accounts/last-one', { method: 'DELETE', authorization: admin });
    await dtr.createUser('next-one');
    expect((await dtr.services.accounts.find('next-one'))?.id).toBeGreaterThan(lastId);

    const register = async (name: string) => {
      const response = await dtr.fetch('/api/v0/content_caches', {
        ...json('POST', { name, host: `http://127.0.0.2:${5000 + name.length}` }),
        authorization: admin,
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: number }).id;
    };
    const first = await register('first');
    expect(
      (
        await dtr.fetch(`/api/v0/content_caches/${first}`, {
          method: 'DELETE',
          authorization: admin,
        })
      ).status,
    ).toBe(204);
    const second = await register('second');
    expect(second).toBeGreaterThan(first);
    // An old DELETE of the first cache's id does not remove the second one.
    expect(
      (
        await dtr.fetch(`/api/v0/content_caches/${first}`, {
          method: 'DELETE',
          authorization: admin,
        })
      ).status,
    ).toBe(404);
    expect(
      (await dtr.fetch(`/api/v0/content_caches/${second}`, { authorization: admin })).status,
    ).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;
let admin: string;
let alice: string;

beforeAll(async () => {
  dtr = await startDtr();
  admin = basic(ADMIN.username, ADMIN.password);
  alice = await dtr.createUser('alice');
});
afterAll(async () => dtr.close());

async function envelope(response: Response) {
  return ((await response.json()) as { errors: Array<{ code: string; message: string }> })
    .errors[0];
}

describe('/api/v0/accounts', () => {
  it('lets administrators create, read, list and delete accounts', async () => {
    const created = await dtr.fetch('/api/v0/accounts', {
      ...json('POST', { name: 'erin', type: 'user', password: 'erin-password' }),
      authorization: admin,
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'erin', type: 'user', isAdmin: false });
    expect(
      await (await dtr.fetch('/api/v0/accounts/erin', { authorization: alice })).json(),
    ).toMatchObject({ name: 'erin' });
    const names = (
      (await (await dtr.fetch('/api/v0/accounts', { authorization: alice })).json()) as {
        accounts: Array<{ name: string }>;
      }
    ).accounts.map((a) => a.name);
    expect(names).toEqual(expect.arrayContaining(['admin', 'alice', 'erin']));
    expect(
      (await dtr.fetch('/api/v0/accounts/erin', { method: 'DELETE', authorization: admin })).status,
    ).toBe(204);
    expect((await dtr.fetch('/api/v0/accounts/erin', { authorization: alice })).status).toBe(404);
  });

  it('keeps passwords out of every answer and never stores them in the clear', async () => {
    const body = await (await dtr.fetch('/api/v0/accounts/alice', { authorization: alice })).text();
    expect(body).not.toContain('password');
    expect(await dtr.services.accounts.passwordHash('alice')).toMatch(/^scrypt\$32768\$8\$1\$/);
  });

  it('refuses bad input with the error envelope', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ name: 'Bad Name', type: 'user', password: 'long-enough' }, 400, 'INVALID_REQUEST'],
      [{ name: 'shorty', type: 'user', password: 'short' }, 400, 'INVALID_REQUEST'],
      [{ type: 'user', password: 'long-enough' }, 400, 'INVALID_REQUEST'],
      [{ name: 'alice', type: 'user', password: 'long-enough' }, 409, 'CONFLICT'],
    ];
    for (const [body, status, code] of cases) {
      const response = await dtr.fetch('/api/v0/accounts', {
        ...json('POST', body),
        authorization: admin,
      });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect((await envelope(response))?.code).toBe(code);
    }
    const notJson = await dtr.fetch('/api/v0/accounts', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{oops',
      authorization: admin,
    });
    expect((await envelope(notJson))?.code).toBe('INVALID_REQUEST');
  });

  it('refuses account changes by non-administrators and anonymous callers', async () => {
    const byAlice = await dtr.fetch('/api/v0/accounts', {
      ...json('POST', { name: 'mallory', type: 'user', password: 'long-enough' }),
      authorization: alice,
    });
    expect(byAlice.status).toBe(403);
    const anonymous = await dtr.fetch('/api/v0/accounts');
    expect(anonymous.status).toBe(401);
    expect(
      (await dtr.fetch('/api/v0/accounts/alice', { method: 'DELETE', authorization: alice }))
        .status,
    ).toBe(403);
  });

  it('never deletes the last administrator', async () => {
    const response = await dtr.fetch('/api/v0/accounts/admin', {
      method: 'DELETE',
      authorization: admin,
    });
    expect(response.status).toBe(409);
  });

  it('manages organization members', async () => {
    expect(
      (
        await dtr.fetch('/api/v0/accounts', {
          ...json('POST', { name: 'ops', isOrg: true }),
          authorization: admin,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await dtr.fetch('/api/v0/accounts/ops/members/alice', {
          method: 'PUT',
          authorization: admin,
        })
      ).status,
    ).toBe(200);
    const members = await (
      await dtr.fetch('/api/v0/accounts/ops/members', { authorization: alice })
    ).json();
    expect(members).toMatchObject({ members: [{ name: 'alice' }] });
    expect(
      (
        await dtr.fetch('/api/v0/accounts/ops/members/alice', {
          method: 'DELETE',
          authorization: admin,
        })
      ).status,
    ).toBe(204);
    expect((await dtr.fetch('/api/v0/accounts/ops/members', { authorization: alice })).status).toBe(
      403,
    );
    expect(
      (await dtr.fetch('/api/v0/accounts/alice/members', { authorization: admin })).status,
    ).toBe(404);
  });
});

describe('/api/v0/repositories', () => {
  it('creates, reads, changes visibility of and deletes repositories', async () => {
    const created = await dtr.fetch('/api/v0/repositories/alice', {
      ...json('POST', { name: 'web', visibility: 'private' }),
      authorization: alice,
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      namespace: 'alice',
      name: 'web',
      fullName: 'alice/web',
      visibility: 'private',
    });
    expect((await dtr.fetch('/api/v0/repositories/alice/web')).status).toBe(404);
    const patched = await dtr.fetch('/api/v0/repositories/alice/web', {
      ...json('PATCH', { visibility: 'public' }),
      authorization: alice,
    });
    expect(await patched.json()).toMatchObject({ visibility: 'public' });
    expect((await dtr.fetch('/api/v0/repositories/alice/web')).status).toBe(200);
    const listed = (await (await dtr.fetch('/api/v0/repositories')).json()) as {
      repositories: Array<{ fullName: string }>;
    };
    expect(listed.repositories.map((r) => r.fullName)).toContain('alice/web');
    expect(
      (
        await dtr.fetch('/api/v0/repositories/alice/web', {
          method: 'DELETE',
          authorization: alice,
        })
      ).status,
    ).toBe(204);
    expect(
      (await dtr.fetch('/api/v0/repositories/alice/web', { authorization: alice })).status,
    ).toBe(404);
  });

  it('refuses other users, bad names, bad visibility and duplicates', async () => {
    const bob = await dtr.createUser('bob');
    expect(
      (
        await dtr.fetch('/api/v0/repositories/alice', {
          ...json('POST', { name: 'x' }),
          authorization: bob,
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await dtr.fetch('/api/v0/repositories/alice', {
          ...json('POST', { name: 'Bad/Name' }),
          authorization: alice,
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await dtr.fetch('/api/v0/repositories/alice', {
          ...json('POST', { name: 'vis', visibility: 'secret' }),
          authorization: alice,
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await dtr.fetch('/api/v0/repositories/alice', {
          ...json('POST', { name: 'dup' }),
          authorization: alice,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await dtr.fetch('/api/v0/repositories/alice', {
          ...json('POST', { name: 'dup' }),
          authorization: alice,
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await dtr.fetch('/api/v0/repositories/alice/dup', {
          ...json('PATCH', { visibility: 'public' }),
          authorization: bob,
        })
      ).status,
    ).toBe(404);
    expect((await dtr.fetch('/api/v0/repositories/nobody', { authorization: alice })).status).toBe(
      404,
    );
  });

  it('answers NOT_FOUND and UNSUPPORTED in the envelope', async () => {
    const missing = await dtr.fetch('/api/v0/nothing', { authorization: alice });
    expect(missing.status).toBe(404);
    expect((await envelope(missing))?.code).toBe('NOT_FOUND');
    const method = await dtr.fetch('/api/v0/accounts', { method: 'PUT', authorization: alice });
    expect(method.status).toBe(405);
    expect((await envelope(method))?.code).toBe('UNSUPPORTED');
  });
});

describe('/api/v0/accounts administrators', () => {
  let own: RunningDtr;
  let root: string;

  beforeAll(async () => {
    own = await startDtr();
    root = basic(ADMIN.username, ADMIN.password);
  });
  afterAll(async () => own?.close());

  const createAdmin = async (name: string) => {
    const response = await own.fetch('/api/v0/accounts', {
      ...json('POST', { name, type: 'user', password: `${name}-password`, isAdmin: true }),
      authorization: root,
    });
    expect(response.status).toBe(201);
    return basic(name, `${name}-password`);
  };
  const setAdmin = (name: string, isAdmin: unknown, authorization: string) =>
    own.fetch(`/api/v0/accounts/${name}`, { ...json('PATCH', { isAdmin }), authorization });
  const remove = (name: string, authorization: string) =>
    own.fetch(`/api/v0/accounts/${name}`, { method: 'DELETE', authorization });
  const admins = async () =>
    (
      (await (await own.fetch('/api/v0/accounts', { authorization: root })).json()) as {
        accounts: Array<{ name: string; isAdmin: boolean }>;
      }
    ).accounts
      .filter((account) => account.isAdmin)
      .map((account) => account.name);

  it('makes a user an administrator and revokes it, for administrators only', async () => {
    const carol = await own.createUser('carol');
    expect((await setAdmin('carol', true, carol)).status).toBe(403);
    const granted = await setAdmin('carol', true, root);
    expect(granted.status).toBe(200);
    expect(await granted.json()).toMatchObject({ name: 'carol', isAdmin: true });
    // Now an administrator, carol revokes it herself (another administrator remains).
    const revoked = await setAdmin('carol', false, carol);
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ name: 'carol', isAdmin: false });
    expect((await setAdmin('carol', true, carol)).status).toBe(403);
    expect(await admins()).toEqual(['admin']);
  });

  it('refuses a bad isAdmin, an organization and an unknown name', async () => {
    await own.fetch('/api/v0/accounts', {
      ...json('POST', { name: 'guild', type: 'organization' }),
      authorization: root,
    });
    for (const [name, body, status, code] of [
      ['carol', { isAdmin: 'yes' }, 400, 'INVALID_REQUEST'],
      ['carol', {}, 400, 'INVALID_REQUEST'],
      ['guild', { isAdmin: true }, 404, 'NOT_FOUND'],
      ['nobody', { isAdmin: true }, 404, 'NOT_FOUND'],
    ] as const) {
      const response = await own.fetch(`/api/v0/accounts/${name}`, {
        ...json('PATCH', body),
        authorization: root,
      });
      expect(response.status, `${name} ${JSON.stringify(body)}`).toBe(status);
      expect((await envelope(response))?.code).toBe(code);
    }
  });

  it('never demotes the last administrator', async () => {
    const response = await setAdmin('admin', false, root);
    expect(response.status).toBe(409);
    expect(await envelope(response)).toMatchObject({
      code: 'CONFLICT',
      message: 'the last administrator cannot be removed or demoted',
    });
    expect(await admins()).toEqual(['admin']);
  });

  it('does not let an administrator delete their own account, even with another one', async () => {
    const dora = await createAdmin('dora');
    const response = await remove('dora', dora);
    expect(response.status).toBe(409);
    expect((await envelope(response))?.message).toBe(
      'administrators cannot delete their own account',
    );
    expect((await remove('dora', root)).status).toBe(204);
  });

  // Two replicas, or two requests, at once: the store's transactions lock the administrators.
  it('keeps one administrator when the last two are demoted at once', async () => {
    await createAdmin('eve');
    const [eve, first] = await Promise.all(
      ['eve', 'admin'].map(async (name) => {
        const found = await own.services.accounts.find(name);
        if (!found) throw new Error(`no account ${name}`);
        return found;
      }),
    );
    if (!eve || !first) throw new Error('accounts missing');
    const outcomes = await Promise.allSettled([
      own.services.accounts.setAdmin(eve, false),
      own.services.accounts.setAdmin(first, false),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected');
    expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
    expect(await admins()).toHaveLength(1);
    await own.services.accounts.setAdmin(first, true);
    expect((await remove('eve', root)).status).toBe(204);
  });

  it('keeps one administrator when the last two are deleted at once', async () => {
    await createAdmin('fred');
    const outcomes = await Promise.allSettled([
      own.services.accounts.delete('fred'),
      own.services.accounts.delete('admin'),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected');
    expect((refused as PromiseRejectedResult).reason).toMatchObject({
      code: 'CONFLICT',
      message: 'the last administrator cannot be removed or demoted',
    });
    const left = await own.services.accounts.page({ kind: 'user', limit: 100 });
    expect(left.accounts.filter((account) => account.isAdmin)).toHaveLength(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;
let admin: string;
let olivia: string;
let mike: string;
let stranger: string;

beforeAll(async () => {
  dtr = await startDtr();
  admin = basic(ADMIN.username, ADMIN.password);
  olivia = await dtr.createUser('olivia');
  mike = await dtr.createUser('mike');
  stranger = await dtr.createUser('stranger');
  await dtr.fetch('/api/v0/accounts', {
    ...json('POST', { name: 'acme', type: 'organization' }),
    authorization: admin,
  });
});
afterAll(async () => dtr.close());

const member = (user: string, authorization: string, role?: 'owner' | 'member') =>
  dtr.fetch(`/api/v0/accounts/acme/members/${user}`, {
    ...(role === undefined ? { method: 'PUT' } : json('PUT', { role })),
    authorization,
  });
const remove = (user: string, authorization: string) =>
  dtr.fetch(`/api/v0/accounts/acme/members/${user}`, { method: 'DELETE', authorization });
async function roles(): Promise<Record<string, string>> {
  const body = (await (
    await dtr.fetch('/api/v0/accounts/acme/members', { authorization: admin })
  ).json()) as { members: Array<{ name: string; role: string }> };
  return Object.fromEntries(body.members.map(({ name, role }) => [name, role]));
}

describe('organization roles', () => {
  it('lets an administrator make an owner and add members (members by default)', async () => {
    expect((await member('olivia', admin, 'owner')).status).toBe(200);
    const added = await member('mike', admin);
    expect(added.status).toBe(200);
    expect(await added.json()).toMatchObject({ name: 'mike', role: 'member' });
    expect(await roles()).toEqual({ olivia: 'owner', mike: 'member' });
  });

  it('does not let a member add or remove anyone', async () => {
    expect((await member('stranger', mike)).status).toBe(403);
    expect((await remove('olivia', mike)).status).toBe(403);
    expect((await member('mike', mike, 'owner')).status).toBe(403);
    expect(await roles()).toEqual({ olivia: 'owner', mike: 'member' });
    // The stranger was never let in: the organization's private repository stays closed to them.
    const token = await dtr.token(['repository:acme/app:pull'], stranger);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
    expect(claims.access).toEqual([]);
  });

  it('lets members list members and use the repositories as before', async () => {
    expect((await dtr.fetch('/api/v0/accounts/acme/members', { authorization: mike })).status).toBe(
      200,
    );
    await dtr.pushBlob('acme/app', Buffer.from('acme layer'), mike);
  });

  it('lets an owner add and remove members and change roles', async () => {
    expect((await member('stranger', olivia)).status).toBe(200);
    expect((await remove('stranger', olivia)).status).toBe(204);
    expect((await member('mike', olivia, 'owner')).status).toBe(200);
    expect((await member('mike', olivia, 'member')).status).toBe(200);
    expect(await roles()).toEqual({ olivia: 'owner', mike: 'member' });
  });

  it('never lets the organization lose its last owner', async () => {
    for (const response of [
      await remove('olivia', olivia),
      await member('olivia', olivia, 'member'),
      await remove('olivia', admin),
      await dtr.fetch('/api/v0/accounts/olivia', { method: 'DELETE', authorization: admin }),
    ]) {
      expect(response.status).toBe(409);
      expect(((await response.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(
        'CONFLICT',
      );
    }
    expect(await roles()).toEqual({ olivia: 'owner', mike: 'member' });
    // With a second owner, the first may leave.
    expect((await member('mike', olivia, 'owner')).status).toBe(200);
    expect((await remove('olivia', olivia)).status).toBe(204);
    expect(await roles()).toEqual({ mike: 'owner' });
  });

  it('shows each user their organizations and roles on their profile page', async () => {
    const session = await dtr.signIn('mike', 'mike-password');
    const page = await (
      await dtr.fetch('/users/mike', { headers: { Cookie: session.cookie } })
    ).text();
    expect(page).toMatch(/<td>acme<\/td>\s*<td>Owner<\/td>/);
    expect(page).toContain('owners also');
  });

  it('refuses an unknown role', async () => {
    const response = await dtr.fetch('/api/v0/accounts/acme/members/stranger', {
      ...json('PUT', { role: 'admin' }),
      authorization: admin,
    });
    expect(response.status).toBe(400);
  });
});

describe('organization roles: who is refused first', () => {
  it('refuses a member who is not an owner before reading the body', async () => {
    for (const body of [{ role: 'admin' }, { role: 'owner' }]) {
      const response = await dtr.fetch('/api/v0/accounts/acme/members/stranger', {
        ...json('PUT', body),
        authorization: stranger,
      });
      expect(response.status, JSON.stringify(body)).toBe(403);
    }
    const malformed = await dtr.fetch('/api/v0/accounts/acme/members/stranger', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: '{oops',
      authorization: stranger,
    });
    expect(malformed.status).toBe(403);
  });
});

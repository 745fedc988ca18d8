import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, type BrowserSession, json, type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;
let admin: BrowserSession;

beforeAll(async () => {
  dtr = await startDtr();
  await dtr.createUser('alice');
  admin = await dtr.signIn(ADMIN.username, ADMIN.password);
});
afterAll(async () => dtr.close());

async function codeOf(response: Response): Promise<string | undefined> {
  const text = await response.text();
  try {
    return (JSON.parse(text) as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** Every way of writing `/api/v0/<rest>` that a router or a proxy may take for the same path. */
function spellings(rest: string): string[] {
  return [
    `/api/v0/${rest}`,
    `/API/v0/${rest}`,
    `/Api/V0/${rest.toUpperCase()}`,
    `//api/v0/${rest}`,
    `/api//v0/${rest}`,
    `/api/v0//${rest}`,
    `/api/v0/${rest}/`,
    `/%61pi/v0/${rest}`,
    `/api/v0/%61${rest.slice(1)}`,
    `/api/%76%30/${rest}`,
  ];
}

describe('CSRF: one rule for every state-changing request of a signed-in browser', () => {
  it('refuses a cookie-only admin request to create an administrator, however the path is written', async () => {
    for (const [index, path] of spellings('accounts').entries()) {
      const response = await dtr.fetch(path, {
        ...json('POST', {
          name: `sneaky${index}`,
          type: 'user',
          password: 'long-enough',
          isAdmin: true,
        }),
        headers: { 'Content-Type': 'application/json', Cookie: admin.cookie },
      });
      expect(response.status, path).toBe(403);
      expect(await codeOf(response), path).toBe('DENIED');
    }
    const accounts = (await (
      await dtr.fetch('/api/v0/accounts', { authorization: basic(ADMIN.username, ADMIN.password) })
    ).json()) as { accounts: Array<{ name: string }> };
    expect(accounts.accounts.map((account) => account.name)).not.toContain(
      expect.stringMatching(/^sneaky/),
    );
  });

  it("refuses a cookie-only change of another user's settings in any casing", async () => {
    for (const path of spellings('accounts/alice/settings')) {
      const response = await dtr.fetch(path, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', Cookie: admin.cookie },
        body: JSON.stringify({ contentCache: '' }),
      });
      expect(response.status, path).toBe(403);
    }
  });

  it('accepts the same request with the session token in the header', async () => {
    const response = await dtr.fetch('/api/v0/accounts', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Cookie: admin.cookie,
        'X-CSRF-Token': admin.csrfToken,
      },
      body: JSON.stringify({ name: 'created-by-ui', type: 'user', password: 'long-enough' }),
    });
    expect(response.status).toBe(201);
  });

  it('refuses cookie-only requests to paths no route serves (no spelling is an exception)', async () => {
    for (const path of [
      '/nowhere',
      '/V2/alice/app/blobs/uploads/',
      '/AUTH/token',
      '/ui/style.css',
    ]) {
      const response = await dtr.fetch(path, {
        method: 'POST',
        headers: { Cookie: admin.cookie },
      });
      expect(response.status, path).toBe(403);
    }
  });

  it('leaves the web UI forms to their own form token', async () => {
    const response = await dtr.fetch('/users/admin/settings', {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: admin.cookie },
      body: new URLSearchParams({ contentCache: '', _csrf: admin.csrfToken }).toString(),
    });
    expect(response.status).toBe(302);
    const forged = await dtr.fetch('/USERS/admin/settings', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: admin.cookie },
      body: new URLSearchParams({ contentCache: '' }).toString(),
    });
    expect(forged.status).toBe(403);
  });
});

describe('JSON endpoints accept only JSON', () => {
  const adminBasic = () => basic(ADMIN.username, ADMIN.password);
  const body = JSON.stringify({ name: 'typed', type: 'user', password: 'long-enough' });

  it.each([
    ['text/plain', 'a plain HTML form or a simple fetch'],
    ['application/x-www-form-urlencoded', 'an HTML form'],
    ['multipart/form-data; boundary=x', 'an HTML form with files'],
    ['', 'no Content-Type at all'],
    ['application/jsonp', 'a look-alike'],
  ])('refuses %j (%s) with 415 UNSUPPORTED_MEDIA_TYPE', async (type) => {
    const headers: Record<string, string> = type === '' ? {} : { 'Content-Type': type };
    const response = await dtr.fetch('/api/v0/accounts', {
      method: 'POST',
      headers,
      body,
      authorization: adminBasic(),
    });
    expect(response.status).toBe(415);
    expect(await codeOf(response)).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/merge-patch+json',
  ])('accepts %j', async (type) => {
    const name = `typed-${Buffer.from(type).toString('hex').slice(-20)}`;
    const response = await dtr.fetch('/api/v0/accounts', {
      method: 'POST',
      headers: { 'Content-Type': type },
      body: JSON.stringify({ name, type: 'user', password: 'long-enough' }),
      authorization: adminBasic(),
    });
    expect(response.status, await response.clone().text()).toBe(201);
  });
});

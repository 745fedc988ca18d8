import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, type BrowserSession, json, type RunningDtr, startDtr } from './dtr-harness';

// The dashboard's pages and JSON: administrators only, bad ids, CSRF, the live script.
let dtr: RunningDtr;
let admin: BrowserSession;
let alice: BrowserSession;
let cacheId: number;
const adminAuth = basic(ADMIN.username, ADMIN.password);

const form = (session: BrowserSession, fields: Record<string, string> = {}) => ({
  method: 'POST',
  redirect: 'manual' as const,
  headers: {
    Cookie: session.cookie,
    'Content-Type': 'application/x-www-form-urlencoded',
  },
  body: new URLSearchParams({ _csrf: session.csrfToken, ...fields }).toString(),
});
const page = (session: BrowserSession) => ({
  redirect: 'manual' as const,
  headers: { Cookie: session.cookie },
});

beforeAll(async () => {
  dtr = await startDtr('', { DTR_API_CONTENTCACHES_HEALTHTIMEOUT: '1s' });
  await dtr.createUser('alice');
  const created = await dtr.fetch('/api/v0/content_caches', {
    ...json('POST', { name: 'down', host: 'http://127.0.0.9:5000' }),
    authorization: adminAuth,
  });
  expect(created.status).toBe(201);
  cacheId = ((await created.json()) as { id: number }).id;
  admin = await dtr.signIn(ADMIN.username, ADMIN.password);
  alice = await dtr.signIn('alice', 'alice-password');
}, 60_000);
afterAll(async () => {
  await dtr?.close();
});

describe('the dashboard JSON', () => {
  it('answers administrators with the dashboard of a cache', async () => {
    const response = await dtr.fetch(`/api/v0/content_caches/${cacheId}/stats`, {
      authorization: adminAuth,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toMatchObject({
      id: cacheId,
      name: 'down',
      usersBySetting: 0,
      pulls: { bySetting: 0, byNetwork: 0 },
      members: [{ host: 'http://127.0.0.9:5000' }],
      display: { pulls: '0 by network, 0 by setting' },
    });
  });

  it('refuses anonymous callers (401) and users (403), and unknown or malformed ids (404)', async () => {
    const path = `/api/v0/content_caches/${cacheId}/stats`;
    expect((await dtr.fetch(path)).status).toBe(401);
    const denied = await dtr.fetch(path, { authorization: basic('alice', 'alice-password') });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(
      'DENIED',
    );
    for (const id of ['999999', 'abc', '9'.repeat(400), '-1', '1.5'])
      expect(
        (await dtr.fetch(`/api/v0/content_caches/${id}/stats`, { authorization: adminAuth }))
          .status,
        id,
      ).toBe(404);
  });

  it('is described in the OpenAPI document', async () => {
    const document = (await (await dtr.fetch('/api/v0/openapi.json')).json()) as {
      paths: Record<string, unknown>;
    };
    expect(document.paths).toHaveProperty(['/content_caches/{id}/stats', 'get']);
  });
});

describe('the dashboard pages', () => {
  it('serves the live script as a file (no inline script in the page)', async () => {
    const script = await dtr.fetch('/ui/cache-dashboard.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(await script.text()).toContain('data-live');
    const dashboard = await dtr.fetch(`/admin/content-caches/${cacheId}`, page(admin));
    expect(dashboard.status).toBe(200);
    const body = await dashboard.text();
    expect(body).toContain('<script src="/ui/cache-dashboard.js" defer></script>');
    expect(body).not.toMatch(/<script>(?!<\/script>)/);
  });

  it('sends a visitor who is not signed in to the sign-in page', async () => {
    for (const path of [
      `/admin/content-caches/${cacheId}`,
      `/admin/content-caches/${cacheId}/delete`,
    ]) {
      const response = await dtr.fetch(path, { redirect: 'manual' });
      expect(response.status, path).toBe(302);
      expect(response.headers.get('location'), path).toContain('/login?next=');
    }
  });

  it('refuses users who are not administrators (403) and unknown caches (404)', async () => {
    for (const path of [
      `/admin/content-caches/${cacheId}`,
      `/admin/content-caches/${cacheId}/delete`,
    ]) {
      const response = await dtr.fetch(path, page(alice));
      expect(response.status, path).toBe(403);
      expect(await response.text(), path).toContain('Only administrators manage content caches');
    }
    for (const id of ['424242', 'abc', '1'.repeat(300)]) {
      expect((await dtr.fetch(`/admin/content-caches/${id}`, page(admin))).status, id).toBe(404);
      expect((await dtr.fetch(`/admin/content-caches/${id}/delete`, page(admin))).status, id).toBe(
        404,
      );
      expect((await dtr.fetch(`/admin/content-caches/${id}/delete`, form(admin))).status, id).toBe(
        404,
      );
    }
  });

  it('deletes only on POST, with the session’s CSRF token, by an administrator', async () => {
    const path = `/admin/content-caches/${cacheId}/delete`;
    const confirm = await dtr.fetch(path, page(admin));
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('Delete down?');
    const wrongCsrf = await dtr.fetch(path, form({ ...admin, csrfToken: 'not-the-token' }));
    expect(wrongCsrf.status).toBe(403);
    const byAlice = await dtr.fetch(path, form(alice));
    expect(byAlice.status).toBe(403);
    const huge = await dtr.fetch(path, form(admin, { pad: 'x'.repeat(100_000) }));
    expect(huge.status).toBe(413);
    const still = await dtr.fetch(`/api/v0/content_caches/${cacheId}`, {
      authorization: adminAuth,
    });
    expect(still.status).toBe(200);
    const deleted = await dtr.fetch(path, form(admin));
    expect(deleted.status).toBe(302);
    expect(deleted.headers.get('location')).toBe('/admin/content-caches?notice=deleted');
    const gone = await dtr.fetch(`/api/v0/content_caches/${cacheId}`, { authorization: adminAuth });
    expect(gone.status).toBe(404);
    expect((await dtr.fetch(path, form(admin))).status).toBe(404);
  });
});

describe('the Settings tab', () => {
  it('saves an unhealthy cache with a warning naming why, never a success', async () => {
    const created = await dtr.fetch('/api/v0/content_caches', {
      ...json('POST', { name: 'away', host: 'http://127.0.0.10:5000' }),
      authorization: adminAuth,
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: number }).id;
    await expect
      .poll(
        async () =>
          (
            (await (
              await dtr.fetch(`/api/v0/content_caches/${id}`, { authorization: adminAuth })
            ).json()) as { health: { status: string } }
          ).health.status,
        { timeout: 10_000 },
      )
      .toBe('unhealthy');
    const saved = await dtr.fetch('/users/alice/settings', form(alice, { contentCache: 'away' }));
    expect(saved.status).toBe(302);
    const shown = await (
      await dtr.fetch(saved.headers.get('location') as string, page(alice))
    ).text();
    expect(shown).toContain('class="notice warn"');
    expect(shown).toContain('Saved, but away is unhealthy (unreachable)');
    expect(shown).not.toContain('class="notice ok"');
  });
});

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { browserTab, launchBrowser, signIn as signInAs, VIEWPORTS } from './browser-harness';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

const ALICE = { username: 'alice', password: 'alice-password' };

describe('web UI in a real browser (Debian chromium via playwright-core)', () => {
  let dtr: RunningDtr;
  let browser: Browser;
  const adminAuth = basic(ADMIN.username, ADMIN.password);

  beforeAll(async () => {
    browser = await launchBrowser();
    dtr = await startDtr();
    await dtr.createUser(ALICE.username, ALICE.password);
    for (const [name, host] of [
      ['east', 'http://127.0.0.2:5000'],
      ['tokyo', 'http://127.0.0.3:5000'],
    ]) {
      const created = await dtr.fetch('/api/v0/content_caches', {
        ...json('POST', { name, host }),
        authorization: adminAuth,
      });
      expect(created.status).toBe(201);
    }
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await dtr?.close();
  });

  it('serves the site icon', async () => {
    const icon = await fetch(`${dtr.url}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/x-icon');
    const bytes = Buffer.from(await icon.arrayBuffer());
    expect([bytes.readUInt16LE(0), bytes.readUInt16LE(2), bytes.readUInt16LE(4)]).toEqual([
      0, 1, 1,
    ]);
  });

  describe.each(VIEWPORTS)('at $width px', (viewport) => {
    const tab = browserTab(
      () => browser,
      () => dtr.url,
      viewport,
    );
    let page: Page;
    beforeEach(() => {
      page = tab.page;
    });
    const { shoot } = tab;

    const signIn = async (user: { username: string; password: string }) => {
      await page.goto(`${dtr.url}/`);
      await expect.poll(() => page.url()).toContain('/login');
      await signInAs(page, dtr.url, user);
      await page.waitForURL('**/repositories');
      await page.goto(`${dtr.url}/users/${user.username}`);
    };

    it('refuses a wrong password with a clear message, then signs in to the profile', async () => {
      await page.goto(`${dtr.url}/`);
      await shoot('sign-in');
      await page.fill('#username', ALICE.username);
      await page.fill('#password', 'not her password');
      await page.click('button:has-text("Sign in")');
      await expect
        .poll(() => page.textContent('.notice.error'))
        .toContain('Incorrect username or password');
      expect(await page.inputValue('#username')).toBe(ALICE.username);

      await page.fill('#password', ALICE.password);
      await page.click('button:has-text("Sign in")');
      await page.waitForURL('**/repositories');
      await page.goto(`${dtr.url}/users/alice`);
      expect(await page.textContent('h1')).toContain('alice');
      expect(await page.textContent('header')).toContain('Signed in as alice');
      const cookies = await tab.context.cookies();
      const session = cookies.find((cookie) => cookie.name === 'dtr_session');
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
      await shoot('profile');
    });

    it('saves the content cache chosen on the Settings tab (seen through the API too)', async () => {
      await signIn(ALICE);
      await page.click('.tabs a:has-text("Settings")');
      await page.waitForURL('**/users/alice/settings');
      const options = await page.$$eval('#contentCache option', (elements) =>
        elements.map((element) => (element.textContent ?? '').replace(/\s+/g, ' ').trim()),
      );
      expect(options[0], options.join(' | ')).toContain('Automatic');
      expect(options[1], options.join(' | ')).toContain('None');
      expect(
        options.some((text) => text.startsWith('east (http://127.0.0.2:5000)')),
        options.join(' | '),
      ).toBe(true);
      expect(options.some((text) => /tokyo .* · (unknown|unhealthy|healthy)/.test(text))).toBe(
        true,
      );

      await page.selectOption('#contentCache', 'tokyo');
      await page.click('button:has-text("Save")');
      await expect.poll(() => page.textContent('.notice.warn')).toContain('Saved, but tokyo is');
      await page.reload();
      expect(await page.inputValue('#contentCache')).toBe('tokyo');
      await shoot('settings');

      const api = await dtr.fetch('/api/v0/accounts/alice/settings', {
        authorization: basic(ALICE.username, ALICE.password),
      });
      expect(await api.json()).toMatchObject({
        contentCache: 'tokyo',
        contentCacheChoice: 'cache',
        pullsGoTo: { contentCache: 'tokyo', reason: 'chosen' },
      });
      expect(await page.textContent('form.card')).toMatch(
        /Your pulls go to\s+tokyo:\s+you chose it/,
      );

      await page.selectOption('#contentCache', '');
      await page.click('button:has-text("Save")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('saved');
      const cleared = await dtr.fetch('/api/v0/accounts/alice/settings', {
        authorization: basic(ALICE.username, ALICE.password),
      });
      expect(await cleared.json()).toMatchObject({ contentCache: '', contentCacheChoice: 'none' });

      await page.selectOption('#contentCache', '@automatic');
      await page.click('button:has-text("Save")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('saved');
      expect(await page.inputValue('#contentCache')).toBe('@automatic');
      expect(await page.textContent('form.card')).toContain(
        'no cache serves the network you are in',
      );
      const automatic = await dtr.fetch('/api/v0/accounts/alice/settings', {
        authorization: basic(ALICE.username, ALICE.password),
      });
      expect(await automatic.json()).toMatchObject({ contentCacheChoice: 'automatic' });
    });

    it('keeps a non-administrator out of admin pages and admin API calls', async () => {
      await signIn(ALICE);
      expect(await page.locator('header nav a:has-text("Content Caches")').count()).toBe(0);
      const response = await page.goto(`${dtr.url}/admin/content-caches`);
      expect(response?.status()).toBe(403);
      expect(await page.textContent('.notice.error')).toContain('Only administrators');
      await shoot('not-allowed');
      const other = await page.goto(`${dtr.url}/users/admin/settings`);
      expect(other?.status()).toBe(403);

      // With her session and even with its CSRF token, the API refuses the admin action.
      await page.goto(`${dtr.url}/api/docs`);
      const csrf = await page.getAttribute('meta[name="csrf-token"]', 'content');
      expect(csrf).toBeTruthy();
      const status = await page.evaluate(async (token) => {
        const answer = await fetch('/api/v0/content_caches', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token ?? '' },
          body: JSON.stringify({ name: 'sneaky', host: 'http://127.0.0.9:5000' }),
        });
        return { status: answer.status, body: (await answer.json()) as unknown };
      }, csrf);
      expect(status).toMatchObject({ status: 403, body: { errors: [{ code: 'DENIED' }] } });
    });

    it('refuses state changes from a session without its CSRF token', async () => {
      await signIn(ALICE);
      const form = await page.request.post(`${dtr.url}/users/alice/settings`, {
        form: { contentCache: 'east' },
        maxRedirects: 0,
      });
      expect(form.status()).toBe(403);
      const api = await page.request.patch(`${dtr.url}/api/v0/accounts/alice/settings`, {
        data: { contentCache: 'east' },
      });
      expect(api.status()).toBe(403);
      expect(await api.json()).toMatchObject({ errors: [{ code: 'DENIED' }] });
      const settings = await dtr.fetch('/api/v0/accounts/alice/settings', {
        authorization: basic(ALICE.username, ALICE.password),
      });
      expect(await settings.json()).toMatchObject({ contentCache: '' });
    });

    it('runs POST /api/v0/content_caches from the API docs with "Try it out" and the session', async () => {
      await signIn({ username: ADMIN.username, password: ADMIN.password });
      await page.click('header nav a:has-text("API docs")');
      await page.waitForURL('**/api/docs');
      const operation = page.locator('.opblock-post', { hasText: '/content_caches' }).first();
      await operation.locator('.opblock-summary').click();
      await operation.locator('button:has-text("Try it out")').click();
      await operation.locator('textarea.body-param__text').fill(
        JSON.stringify({
          name: `from-docs-${viewport.name}`,
          host: `http://127.0.0.5:${viewport.width}`,
        }),
      );
      await operation.locator('button:has-text("Execute")').click();
      const status = operation.locator('.live-responses-table tbody .response-col_status').first();
      await expect.poll(() => status.textContent(), { timeout: 10_000 }).toContain('201');
      await shoot('api-docs');
      const created = await dtr.fetch('/api/v0/content_caches', { authorization: adminAuth });
      expect(JSON.stringify(await created.json())).toContain(`from-docs-${viewport.name}`);
    });

    it('signs out: the session ends and pages ask to sign in again', async () => {
      await signIn(ALICE);
      const token = (await tab.context.cookies()).find(
        (cookie) => cookie.name === 'dtr_session',
      )?.value;
      await page.click('button:has-text("Sign out")');
      await page.waitForURL('**/login?notice=signed-out');
      expect(await page.textContent('.notice.ok')).toContain('signed out');
      await page.goto(`${dtr.url}/users/alice/settings`);
      expect(page.url()).toContain('/login?next=');
      // The old cookie value no longer opens a session.
      const reused = await fetch(`${dtr.url}/users/alice`, {
        headers: { Cookie: `dtr_session=${token}` },
        redirect: 'manual',
      });
      expect(reused.status).toBe(302);
      expect(reused.headers.get('location')).toContain('/login');
    });

    it('sends a signed-out visitor to the sign-in page and back where they were going', async () => {
      await page.goto(`${dtr.url}/users/alice/settings`);
      expect(page.url()).toContain('/login?next=%2Fusers%2Falice%2Fsettings');
      await page.fill('#username', ALICE.username);
      await page.fill('#password', ALICE.password);
      await page.click('button:has-text("Sign in")');
      await page.waitForURL('**/users/alice/settings');
      const evil = await fetch(`${dtr.url}/login?next=//evil.example`, { redirect: 'manual' });
      expect(await evil.text()).not.toContain('evil.example');
    });

    it('does not let a session cookie authenticate registry API calls', async () => {
      await signIn({ username: ADMIN.username, password: ADMIN.password });
      const answer = await page.request.get(`${dtr.url}/v2/_catalog`);
      expect(answer.status()).toBe(401);
    });
  });
});

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { browserTab, launchBrowser, signIn as signInAs, VIEWPORTS } from './browser-harness';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

const ALICE = { username: 'alice', password: 'alice-password' };

describe('the administrators’ users pages in a real browser', () => {
  let dtr: RunningDtr;
  let browser: Browser;
  const admin = basic(ADMIN.username, ADMIN.password);

  /** The account `name` through the API (undefined: 404). */
  const account = async (name: string) => {
    const response = await dtr.fetch(`/api/v0/accounts/${name}`, { authorization: admin });
    return response.status === 404
      ? undefined
      : ((await response.json()) as { name: string; isAdmin: boolean });
  };

  beforeAll(async () => {
    browser = await launchBrowser();
    dtr = await startDtr();
    await dtr.createUser(ALICE.username, ALICE.password);
    // Enough users for two pages (50 a page), straight into the store.
    for (let index = 1; index <= 52; index += 1)
      await dtr.services.accounts.create({
        name: `crowd-${String(index).padStart(2, '0')}`,
        kind: 'user',
      });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await dtr?.close();
  });

  describe.each(VIEWPORTS)('at $width px', (viewport) => {
    const suffix = viewport.name;
    const tab = browserTab(
      () => browser,
      () => dtr.url,
      viewport,
    );
    let page: Page;
    beforeEach(() => {
      page = tab.page;
    });
    const { shoot, csrf, post, submit } = tab;

    const signIn = (who: { username: string; password: string }) => signInAs(page, dtr.url, who);
    const createUser = async (username: string, password: string, isAdmin = false) => {
      await page.fill('#username', username);
      await page.fill('#password', password);
      if (isAdmin) await page.check('#isAdmin');
      return submit('button:has-text("Create user")');
    };

    it('keeps a non-administrator out of the users pages and their forms', async () => {
      await signIn(ALICE);
      expect(await page.locator('header nav a:has-text("Users")').count()).toBe(0);
      const refused = await page.goto(`${dtr.url}/admin/users`);
      expect(refused?.status()).toBe(403);
      expect(await page.textContent('.notice.error')).toContain('Only administrators manage users');
      await shoot('users-not-allowed');
      expect((await page.goto(`${dtr.url}/admin/users/admin/delete`))?.status()).toBe(403);

      const token = await csrf();
      for (const [path, form] of [
        ['/admin/users', { username: 'sneaky', password: 'long-enough', isAdmin: 'true' }],
        ['/admin/users/alice/admin', { isAdmin: 'true' }],
        ['/admin/users/admin/admin', { isAdmin: 'false' }],
        ['/admin/users/admin/delete', {}],
      ] as const) {
        const answer = await post(path, { ...form, _csrf: token });
        expect(answer.status(), path).toBe(403);
        expect(await answer.text()).toContain('Only administrators manage users');
      }
      expect(await account('sneaky')).toBeUndefined();
      expect(await account('alice')).toMatchObject({ isAdmin: false });
      expect(await account('admin')).toMatchObject({ isAdmin: true });
    });

    it('refuses an administrator’s forms without the session’s CSRF token', async () => {
      await signIn(ADMIN);
      await page.goto(`${dtr.url}/admin/users`);
      const forms: Array<Record<string, string>> = [
        { username: `nocsrf-${suffix}`, password: 'long-enough' },
        { username: `nocsrf-${suffix}`, password: 'long-enough', _csrf: 'forged' },
      ];
      for (const form of forms) {
        const answer = await post('/admin/users', form);
        expect(answer.status()).toBe(403);
        expect(await answer.text()).toContain('did not come from this site');
      }
      expect((await post('/admin/users/alice/delete', {})).status()).toBe(403);
      expect((await post('/admin/users/alice/admin', { isAdmin: 'true' })).status()).toBe(403);
      expect(await account(`nocsrf-${suffix}`)).toBeUndefined();
      expect(await account('alice')).toMatchObject({ isAdmin: false });
    });

    it('lists, searches and pages through users, each linked to their profile', async () => {
      await signIn(ADMIN);
      await page.click('header nav a:has-text("Users")');
      await page.waitForURL('**/admin/users');
      expect(await page.locator('tbody tr').count()).toBe(50);
      expect(await page.textContent('tbody')).toContain('administrator');
      expect(await page.getAttribute('tbody a:has-text("alice")', 'href')).toBe('/users/alice');
      await shoot('users');

      await page.fill('#q', 'CROWD');
      await page.click('button:has-text("Search")');
      await page.waitForURL('**/admin/users?q=CROWD');
      expect(await page.inputValue('#q')).toBe('crowd');
      expect(await page.locator('tbody tr').count()).toBe(50);
      await page.click('.pager a:has-text("Next page")');
      await page.waitForURL('**/admin/users?q=crowd&after=crowd-50');
      const rest = await page.$$eval('tbody tr td:first-child', (cells) =>
        cells.map((cell) => (cell.textContent ?? '').trim()),
      );
      expect(rest).toEqual(['crowd-51', 'crowd-52']);
      await shoot('users-page-two');
      await page.click('.pager a:has-text("First page")');
      await page.waitForURL('**/admin/users?q=crowd');

      await page.goto(`${dtr.url}/admin/users?q=nobody-by-that-name`);
      expect(await page.textContent('main')).toContain(
        'No user\'s name contains "nobody-by-that-name"',
      );
      await page.goto(`${dtr.url}/admin/users?q=alice`);
      await page.click('tbody a:has-text("alice")');
      await page.waitForURL('**/users/alice');
      expect(await page.textContent('h1')).toContain('alice');

      const long = await page.goto(`${dtr.url}/admin/users?q=${'b'.repeat(65)}`);
      expect(long?.status()).toBe(400);
    });

    it('creates users with the API’s rules and clear messages', async () => {
      await signIn(ADMIN);
      await page.goto(`${dtr.url}/admin/users`);
      const name = `newbie-${suffix}`;

      expect(await createUser(name, 'short')).toBe(400);
      expect(await page.textContent('.notice.error')).toContain(
        'password must be a string of at least 8 characters',
      );
      expect(await page.inputValue('#username')).toBe(name);
      expect(await page.inputValue('#password')).toBe('');
      await shoot('users-create-error');

      expect(await createUser('Not Valid', 'long-enough')).toBe(400);
      expect(await page.textContent('.notice.error')).toContain('invalid account name');
      expect(await createUser('alice', 'long-enough')).toBe(409);
      expect(await page.textContent('.notice.error')).toContain(
        'the name "alice" is taken by another user or organization',
      );
      expect(await createUser('y'.repeat(10_000), 'long-enough')).toBe(400);
      const huge = await post('/admin/users', {
        username: 'z'.repeat(70_000),
        password: 'long-enough',
        _csrf: await csrf(),
      });
      expect(huge.status()).toBe(413);

      expect(await createUser(name, `${name}-password`, true)).toBe(302);
      await page.waitForURL(`**/admin/users?q=${name}&notice=created`);
      expect(await page.textContent('.notice.ok')).toContain('user was created');
      expect(await page.textContent('tbody .badge.admin')).toBe('admin');
      await shoot('users-created');
      expect(await account(name)).toMatchObject({ name, isAdmin: true });
      const signedIn = await dtr.fetch(`/api/v0/accounts/${name}`, {
        authorization: basic(name, `${name}-password`),
      });
      expect(signedIn.status).toBe(200);
      await dtr.fetch(`/api/v0/accounts/${name}`, { method: 'DELETE', authorization: admin });
    });

    it('makes a user an administrator and revokes it', async () => {
      await signIn(ADMIN);
      await page.goto(`${dtr.url}/admin/users?q=alice`);
      await page.click('button[aria-label="Make administrator alice"]');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('now an administrator');
      expect(await account('alice')).toMatchObject({ isAdmin: true });
      await shoot('users-granted');
      await page.click('button[aria-label="Revoke administrator from alice"]');
      await expect
        .poll(() => page.textContent('.notice.ok'))
        .toContain('no longer an administrator');
      expect(await account('alice')).toMatchObject({ isAdmin: false });

      const bad = await post('/admin/users/alice/admin', { isAdmin: 'maybe', _csrf: await csrf() });
      expect(bad.status()).toBe(400);
      expect(await bad.text()).toContain('isAdmin must be true or false');
      const unknown = await post('/admin/users/ghost/admin', {
        isAdmin: 'true',
        _csrf: await csrf(),
      });
      expect(unknown.status()).toBe(404);
      expect(await unknown.text()).toContain('there is no user named');
    });

    it('protects the last administrator and the administrator’s own account', async () => {
      await signIn(ADMIN);
      await page.goto(`${dtr.url}/admin/users?q=admin`);
      const own = page.locator('tbody tr', { hasText: '(you)' });
      expect(await own.locator('a:has-text("Delete")').count()).toBe(0);
      expect(await submit('button[aria-label="Revoke administrator from admin"]')).toBe(409);
      expect(await page.textContent('.notice.error')).toContain(
        'the last administrator cannot be removed or demoted',
      );
      await shoot('users-last-admin');
      expect(await account('admin')).toMatchObject({ isAdmin: true });

      const confirm = await page.goto(`${dtr.url}/admin/users/admin/delete`);
      expect(confirm?.status()).toBe(409);
      expect(await page.textContent('.notice.error')).toContain('cannot delete your own account');
      const deleted = await post('/admin/users/admin/delete', { _csrf: await csrf() });
      expect(deleted.status()).toBe(409);
      expect(await deleted.text()).toContain('administrators cannot delete their own account');
      expect(await account('admin')).toBeDefined();
    });

    it('lets an administrator step down while another one remains', async () => {
      const deputy = { username: `deputy-${suffix}`, password: `deputy-${suffix}-password` };
      const created = await dtr.fetch('/api/v0/accounts', {
        ...json('POST', { name: deputy.username, password: deputy.password, isAdmin: true }),
        authorization: admin,
      });
      expect(created.status).toBe(201);
      await signIn(deputy);
      await page.goto(`${dtr.url}/admin/users?q=${deputy.username}`);
      await page.click(`button[aria-label="Revoke administrator from ${deputy.username}"]`);
      await page.waitForURL(`**/users/${deputy.username}`);
      expect(await account(deputy.username)).toMatchObject({ isAdmin: false });
      expect((await page.goto(`${dtr.url}/admin/users`))?.status()).toBe(403);
    });

    it('deletes a user after confirming, unless they are the last owner of an organization', async () => {
      const leaving = `leaving-${suffix}`;
      const owner = `owner-${suffix}`;
      await dtr.createUser(leaving);
      await dtr.createUser(owner);
      await dtr.fetch('/api/v0/accounts', {
        ...json('POST', { name: `club-${suffix}`, type: 'organization' }),
        authorization: admin,
      });
      await dtr.fetch(`/api/v0/accounts/club-${suffix}/members/${owner}`, {
        ...json('PUT', { role: 'owner' }),
        authorization: admin,
      });

      await signIn(ADMIN);
      await page.goto(`${dtr.url}/admin/users?q=${leaving}`);
      await page.click(`a[aria-label="Delete ${leaving}"]`);
      await page.waitForURL(`**/admin/users/${leaving}/delete`);
      expect(await page.textContent('form.confirm')).toContain(`Delete the user ${leaving}?`);
      await shoot('users-delete-confirm');
      await page.click('form.confirm a:has-text("Cancel")');
      await page.waitForURL('**/admin/users');
      expect(await account(leaving)).toBeDefined();

      await page.goto(`${dtr.url}/admin/users/${leaving}/delete`);
      await page.click('button:has-text("Delete user")');
      await page.waitForURL('**/admin/users?notice=deleted');
      expect(await page.textContent('.notice.ok')).toContain('user was deleted');
      expect(await account(leaving)).toBeUndefined();
      expect((await page.goto(`${dtr.url}/admin/users/${leaving}/delete`))?.status()).toBe(404);

      await page.goto(`${dtr.url}/admin/users/${owner}/delete`);
      expect(await page.textContent('form.confirm')).toContain(`club-${suffix}`);
      expect(await submit('button:has-text("Delete user")')).toBe(409);
      expect(await page.textContent('.notice.error')).toContain(
        `the account is the last owner of an organization: make another member an owner first (club-${suffix})`,
      );
      expect(await page.inputValue('#q')).toBe(owner);
      expect(await page.locator('tbody tr').count()).toBe(1);
      await shoot('users-delete-refused');
      expect(await account(owner)).toBeDefined();
      // An organization's name is not a user's: the users pages do not delete it.
      const organization = await post(`/admin/users/club-${suffix}/delete`, {
        _csrf: await csrf(),
      });
      expect(organization.status()).toBe(404);
      expect(await account(`club-${suffix}`)).toBeDefined();
    });
  });
});

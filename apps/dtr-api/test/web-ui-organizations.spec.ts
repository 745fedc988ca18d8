import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { browserTab, launchBrowser, signIn as signInAs, VIEWPORTS } from './browser-harness';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

const user = (username: string) => ({ username, password: `${username}-password` });
const OLIVIA = user('olivia');
const MIKE = user('mike');
const STRANGER = user('stranger');

describe('organizations pages in a real browser', () => {
  let dtr: RunningDtr;
  let browser: Browser;
  const admin = basic(ADMIN.username, ADMIN.password);

  const createOrganization = async (name: string) => {
    const response = await dtr.fetch('/api/v0/accounts', {
      ...json('POST', { name, type: 'organization' }),
      authorization: admin,
    });
    expect(response.status).toBe(201);
  };
  const putMember = async (organization: string, name: string, role: 'owner' | 'member') => {
    const response = await dtr.fetch(`/api/v0/accounts/${organization}/members/${name}`, {
      ...json('PUT', { role }),
      authorization: admin,
    });
    expect(response.status).toBe(200);
  };
  /** The members of `organization` and their roles, through the API. */
  const roles = async (organization: string): Promise<Record<string, string>> => {
    const body = (await (
      await dtr.fetch(`/api/v0/accounts/${organization}/members`, { authorization: admin })
    ).json()) as { members: Array<{ name: string; role: string }> };
    return Object.fromEntries(body.members.map(({ name, role }) => [name, role]));
  };

  beforeAll(async () => {
    browser = await launchBrowser();
    dtr = await startDtr();
    for (const { username, password } of [OLIVIA, MIKE, STRANGER])
      await dtr.createUser(username, password);
    await createOrganization('acme');
    await putMember('acme', 'olivia', 'owner');
    await putMember('acme', 'mike', 'member');
    for (const viewport of VIEWPORTS) {
      await createOrganization(`squad-${viewport.name}`);
      await putMember(`squad-${viewport.name}`, 'olivia', 'owner');
    }
    // Enough organizations for two pages (50 a page), straight into the store.
    for (let index = 1; index <= 53; index += 1)
      await dtr.services.accounts.create({
        name: `bulk-${String(index).padStart(2, '0')}`,
        kind: 'organization',
      });
    await dtr.services.accounts.create({ name: 'under_score', kind: 'organization' });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await dtr?.close();
  });

  describe.each(VIEWPORTS)('at $width px', (viewport) => {
    const squad = `squad-${viewport.name}`;
    const tab = browserTab(
      () => browser,
      () => dtr.url,
      viewport,
    );
    let page: Page;
    beforeEach(() => {
      page = tab.page;
    });
    const { shoot, csrf, post } = tab;

    const signIn = (who: { username: string; password: string }) => signInAs(page, dtr.url, who);

    it('shows a member their organizations and the members, without managing them', async () => {
      await signIn(MIKE);
      await page.click('header nav a:has-text("Organizations")');
      await page.waitForURL('**/organizations');
      const row = page.locator('tbody tr', { hasText: 'acme' });
      expect(await row.textContent()).toContain('Member');
      expect(await page.textContent('main')).not.toContain('squad-');
      expect(await page.locator('form[action="/organizations"]').count()).toBe(0);
      expect(await page.locator('input[name="q"]').count()).toBe(0);
      await shoot('organizations-member');

      await row.locator('a:has-text("acme")').click();
      await page.waitForURL('**/organizations/acme');
      const members = await page.$$eval('tbody tr', (rows) =>
        rows.map((element) => (element.textContent ?? '').replace(/\s+/g, ' ').trim()),
      );
      expect(members).toEqual(['mike (you) Member', 'olivia Owner']);
      expect(await page.getAttribute('a:has-text("acme\'s repositories")', 'href')).toBe(
        '/repositories?namespace=acme',
      );
      expect(await page.locator('text=Add a member').count()).toBe(0);
      expect(await page.locator('a:has-text("Remove")').count()).toBe(0);
      expect(await page.locator('text=Delete organization').count()).toBe(0);
      await shoot('organization-member-view');
    });

    it('refuses non-members, non-owners, missing CSRF and unknown organizations', async () => {
      await signIn(STRANGER);
      const closed = await page.goto(`${dtr.url}/organizations/acme`);
      expect(closed?.status()).toBe(403);
      expect(await page.textContent('.notice.error')).toContain(
        'Only members of acme and administrators',
      );
      await shoot('organization-not-allowed');
      expect((await page.goto(`${dtr.url}/organizations/nowhere`))?.status()).toBe(404);
      expect(await page.textContent('.notice.error')).toContain('no organization named');
      expect((await page.goto(`${dtr.url}/organizations/stranger`))?.status()).toBe(404);

      await tab.context.clearCookies();
      await signIn(MIKE);
      await page.goto(`${dtr.url}/organizations/acme`);
      const token = await csrf();
      for (const [path, form] of [
        ['/organizations/acme/members', { username: 'stranger', role: 'owner' }],
        ['/organizations/acme/members/mike/role', { role: 'owner' }],
        ['/organizations/acme/members/olivia/remove', {}],
        ['/organizations/acme/delete', {}],
        ['/organizations', { name: 'mikes-org' }],
      ] as const) {
        const answer = await post(path, { ...form, _csrf: token });
        expect(answer.status(), path).toBe(403);
        expect(await answer.text()).toContain('notice error');
      }
      expect(
        (await page.goto(`${dtr.url}/organizations/acme/members/olivia/remove`))?.status(),
      ).toBe(403);
      expect((await page.goto(`${dtr.url}/organizations/acme/delete`))?.status()).toBe(403);
      expect(await roles('acme')).toEqual({ mike: 'member', olivia: 'owner' });

      await tab.context.clearCookies();
      await signIn(OLIVIA);
      await page.goto(`${dtr.url}/organizations/acme`);
      const missing = await post('/organizations/acme/members', { username: 'stranger' });
      expect(missing.status()).toBe(403);
      expect(await missing.text()).toContain('did not come from this site');
      const wrong = await post('/organizations/acme/members', {
        username: 'stranger',
        _csrf: 'not-the-token',
      });
      expect(wrong.status()).toBe(403);
      expect(await roles('acme')).toEqual({ mike: 'member', olivia: 'owner' });
    });

    it('lets an owner add a member, change the role and remove them after confirming', async () => {
      await signIn(OLIVIA);
      await page.goto(`${dtr.url}/organizations`);
      expect(await page.locator('tbody tr', { hasText: squad }).textContent()).toContain('Owner');
      await page.click(`a:has-text("${squad}")`);
      await page.waitForURL(`**/organizations/${squad}`);

      await page.fill('#username', 'ghost');
      await page.click('button:has-text("Add member")');
      await expect
        .poll(() => page.textContent('.notice.error'))
        .toContain('there is no user named "ghost"');
      expect(await page.inputValue('#username')).toBe('ghost');

      await page.fill('#username', ' Stranger ');
      await page.click('button:has-text("Add member")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('member was added');
      expect(await roles(squad)).toEqual({ olivia: 'owner', stranger: 'member' });

      await page.fill('#username', 'stranger');
      await page.selectOption('#role', 'owner');
      await page.click('button:has-text("Add member")');
      await expect
        .poll(() => page.textContent('.notice.error'))
        .toContain(`stranger is already a member of ${squad}`);
      expect(await page.inputValue('#role')).toBe('owner');
      await shoot('organization-owner-view');

      const token = await csrf();
      const badRole = await post(`/organizations/${squad}/members/stranger/role`, {
        role: 'admin',
        _csrf: token,
      });
      expect(badRole.status()).toBe(400);
      expect(await badRole.text()).toContain(
        'role must be &quot;owner&quot; or &quot;member&quot;',
      );
      const notMember = await post(`/organizations/${squad}/members/mike/role`, {
        role: 'owner',
        _csrf: token,
      });
      expect(notMember.status()).toBe(404);
      expect(await roles(squad)).toEqual({ olivia: 'owner', stranger: 'member' });

      await page.selectOption('#role-stranger', 'owner');
      await page.click('button[aria-label="Save the role of stranger"]');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('role was changed');
      expect(await roles(squad)).toEqual({ olivia: 'owner', stranger: 'owner' });
      await page.selectOption('#role-stranger', 'member');
      await page.click('button[aria-label="Save the role of stranger"]');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('role was changed');
      expect(await roles(squad)).toEqual({ olivia: 'owner', stranger: 'member' });

      await page.click('a[aria-label="Remove stranger"]');
      await page.waitForURL(`**/organizations/${squad}/members/stranger/remove`);
      expect(await page.textContent('form.confirm')).toContain(
        `Remove stranger (member) from ${squad}?`,
      );
      await shoot('organization-remove-confirm');
      await page.click('form.confirm a:has-text("Cancel")');
      await page.waitForURL(`**/organizations/${squad}`);
      expect(await roles(squad)).toEqual({ olivia: 'owner', stranger: 'member' });

      await page.click('a[aria-label="Remove stranger"]');
      await page.click('button:has-text("Remove member")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('member was removed');
      expect(await roles(squad)).toEqual({ olivia: 'owner' });
      await shoot('organization-member-removed');

      const gone = await page.goto(`${dtr.url}/organizations/${squad}/members/stranger/remove`);
      expect(gone?.status()).toBe(404);
    });

    it('never lets the last owner be demoted or removed', async () => {
      await signIn(OLIVIA);
      await page.goto(`${dtr.url}/organizations/${squad}`);
      await page.selectOption('#role-olivia', 'member');
      await page.click('button[aria-label="Save the role of olivia"]');
      await expect
        .poll(() => page.textContent('.notice.error'))
        .toContain('an organization cannot lose its last owner');
      await shoot('organization-last-owner');

      await page.goto(`${dtr.url}/organizations/${squad}`);
      await page.click('a[aria-label="Remove olivia"]');
      expect(await page.textContent('form.confirm')).toContain(`Leave ${squad}?`);
      const answer = page.waitForResponse((response) => response.request().method() === 'POST');
      await page.click('button:has-text("Leave organization")');
      expect((await answer).status()).toBe(409);
      expect(await page.textContent('.notice.error')).toContain('cannot lose its last owner');
      expect(await roles(squad)).toEqual({ olivia: 'owner' });
    });

    it('lets an administrator create, find and delete organizations, with clear errors', async () => {
      await signIn(ADMIN);
      await page.goto(`${dtr.url}/organizations`);
      const guild = `guild-${viewport.name}`;

      for (const [name, message] of [
        ['Bad Name', 'invalid account name'],
        ['acme', 'the name "acme" is taken by another user or organization'],
        ['olivia', 'the name "olivia" is taken by another user or organization'],
        ['x'.repeat(5000), 'invalid account name'],
      ] as const) {
        await page.fill('#name', name);
        const answer = page.waitForResponse((response) => response.request().method() === 'POST');
        await page.click('button:has-text("Create")');
        expect((await answer).status()).toBe(name === 'acme' || name === 'olivia' ? 409 : 400);
        await expect.poll(() => page.textContent('.notice.error')).toContain(message);
      }
      await shoot('organizations-create-error');

      await page.fill('#name', guild);
      await page.click('button:has-text("Create")');
      await page.waitForURL(`**/organizations/${guild}?notice=created`);
      expect(await page.textContent('.notice.ok')).toContain('organization was created');
      expect(await page.textContent('main')).toContain('This organization has no members yet.');
      await page.fill('#username', 'olivia');
      await page.selectOption('#role', 'owner');
      await page.click('button:has-text("Add member")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('member was added');
      expect(await roles(guild)).toEqual({ olivia: 'owner' });
      await shoot('organization-admin-view');

      await page.goto(`${dtr.url}/organizations?q=GUILD`);
      const found = await page.$$eval('tbody tr td:first-child', (cells) =>
        cells.map((cell) => (cell.textContent ?? '').trim()),
      );
      expect(found).toContain(guild);
      expect(found.every((name) => name.startsWith('guild-'))).toBe(true);
      await shoot('organizations-search');

      await page.click(`a:has-text("${guild}")`);
      await page.click('a:has-text("Delete organization")');
      await page.waitForURL(`**/organizations/${guild}/delete`);
      expect((await page.textContent('form.confirm'))?.replace(/\s+/g, ' ')).toContain(
        'This deletes its 0 repositories with their tags',
      );
      await shoot('organization-delete-confirm');
      await page.click('button:has-text("Delete organization")');
      await page.waitForURL('**/organizations?notice=deleted');
      expect(await page.textContent('.notice.ok')).toContain('organization was deleted');
      expect((await dtr.fetch(`/api/v0/accounts/${guild}`, { authorization: admin })).status).toBe(
        404,
      );
      expect((await page.goto(`${dtr.url}/organizations/${guild}/delete`))?.status()).toBe(404);
    });

    it('pages through every organization for an administrator, and searches literally', async () => {
      await signIn(ADMIN);
      await page.goto(`${dtr.url}/organizations?q=bulk`);
      expect(await page.locator('tbody tr').count()).toBe(50);
      expect(await page.locator('.pager a:has-text("First page")').count()).toBe(0);
      await page.click('.pager a:has-text("Next page")');
      await page.waitForURL('**/organizations?q=bulk&after=bulk-50');
      const rest = await page.$$eval('tbody tr td:first-child', (cells) =>
        cells.map((cell) => (cell.textContent ?? '').trim()),
      );
      expect(rest).toEqual(['bulk-51', 'bulk-52', 'bulk-53']);
      expect(await page.locator('.pager a:has-text("Next page")').count()).toBe(0);
      await shoot('organizations-page-two');

      // "_" is a character of names, not a wildcard.
      await page.goto(`${dtr.url}/organizations?q=_`);
      const underscored = await page.$$eval('tbody tr td:first-child', (cells) =>
        cells.map((cell) => (cell.textContent ?? '').trim()),
      );
      expect(underscored).toEqual(['under_score']);
      await page.goto(`${dtr.url}/organizations?q=%25`);
      expect(await page.textContent('main')).toContain('No organization\'s name contains "%"');

      const long = await page.goto(`${dtr.url}/organizations?q=${'a'.repeat(65)}`);
      expect(long?.status()).toBe(400);
      expect(await page.textContent('.notice.error')).toContain('at most 64 characters');
    });

    it('asks a signed-out visitor to sign in first', async () => {
      await page.goto(`${dtr.url}/organizations/acme`);
      expect(page.url()).toContain('/login?next=%2Forganizations%2Facme');
      const posted = await fetch(`${dtr.url}/organizations/acme/members`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'username=stranger',
        redirect: 'manual',
      });
      expect(posted.status).toBe(302);
      expect(await roles('acme')).toEqual({ mike: 'member', olivia: 'owner' });
    });
  });
});

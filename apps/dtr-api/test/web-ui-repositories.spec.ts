/**
 * The web UI's repository pages in a real browser, at both widths: the list (search, filters,
 * pages, empty states), a repository (facts, tags with kinds, sizes, platforms and referrers,
 * pull commands), the owners' actions with their confirmations, and every refusal: others see no
 * actions and are refused (403 where they see the repository, 404 where they do not), a form
 * without its CSRF token is refused, read-only mode refuses deletes as the API does.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatBytes } from '../src/ui/format';
import { shortDigest } from '../src/ui/repository-format';
import { browserTab, launchBrowser, signIn as signInAs, VIEWPORTS } from './browser-harness';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';
import {
  type Pushed,
  pushImage,
  pushIndex,
  pushSignature,
  SIGNATURE_TYPE,
  tagMany,
} from './repository-fixtures';

const ALICE = { username: 'alice', password: 'alice-password' };
const BOB = { username: 'bob', password: 'bob-password' };
const CAROL = { username: 'carol', password: 'carol-password' };
const ERIN = { username: 'erin', password: 'erin-password' };
const ADMIN_USER = { username: ADMIN.username, password: ADMIN.password };
/** Public repositories of dave's: more than a page of the list. */
const DAVE_REPOSITORIES = 52;
const MANY_TAGS = 27;

describe('repository pages in a real browser', () => {
  let dtr: RunningDtr;
  let readOnly: RunningDtr;
  let browser: Browser;
  const adminAuth = basic(ADMIN.username, ADMIN.password);
  const auth = (user: { username: string; password: string }) =>
    basic(user.username, user.password);
  /** What each viewport's own demo repository holds. */
  const demo = new Map<string, { image: Pushed; index: Pushed; signature: string }>();

  const api = (path: string, init: RequestInit & { authorization?: string } = {}) =>
    dtr.fetch(`/api/v0${path}`, init);

  beforeAll(async () => {
    browser = await launchBrowser();
    dtr = await startDtr();
    for (const user of [ALICE, BOB, CAROL, ERIN, { username: 'dave', password: 'dave-pw-123' }])
      await dtr.createUser(user.username, user.password);
    expect(
      (
        await api('/accounts', {
          ...json('POST', { name: 'acme', type: 'organization' }),
          authorization: adminAuth,
        })
      ).status,
    ).toBe(201);
    expect(
      (await api('/accounts/acme/members/carol', { method: 'PUT', authorization: adminAuth }))
        .status,
    ).toBe(200);

    for (const viewport of VIEWPORTS) {
      const repository = `alice/demo-${viewport.name}`;
      await pushImage(dtr, repository, auth(ALICE), { tag: 'old', seed: 'old', layerBytes: 1000 });
      const index = await pushIndex(dtr, repository, auth(ALICE), 'multi');
      const image = await pushImage(dtr, repository, auth(ALICE), {
        tag: '1.0',
        seed: 'one',
        layerBytes: 5000,
      });
      const signature = await pushSignature(dtr, repository, auth(ALICE), image.descriptor);
      demo.set(viewport.name, { image, index, signature: signature.digest });
    }
    await pushImage(dtr, 'alice/secret', auth(ALICE), { tag: 'latest', seed: 'secret' });
    await pushImage(dtr, 'alice/shared', auth(ALICE), { tag: 'latest', seed: 'shared' });
    await pushImage(dtr, 'bob/tools', auth(BOB), { tag: 'latest', seed: 'tools' });
    await pushImage(dtr, 'bob/hidden', auth(BOB), { tag: 'latest', seed: 'hidden' });
    await pushImage(dtr, 'acme/app', auth(CAROL), { tag: 'v1', seed: 'app' });
    for (const repository of ['alice/shared', 'bob/tools'])
      expect(
        (
          await api(`/repositories/${repository}`, {
            ...json('PATCH', { visibility: 'public' }),
            authorization: adminAuth,
          })
        ).status,
      ).toBe(200);
    for (let index = 0; index < DAVE_REPOSITORIES; index += 1)
      expect(
        (
          await api('/repositories/dave', {
            ...json('POST', {
              name: `lib-${String(index).padStart(2, '0')}`,
              visibility: 'public',
            }),
            authorization: adminAuth,
          })
        ).status,
      ).toBe(201);
    await tagMany(dtr, 'dave/lib-00', adminAuth, MANY_TAGS);

    readOnly = await startDtr('', { DTR_API_STORAGE_MAINTENANCE_READONLY_ENABLED: 'true' });
    await readOnly.createUser(ALICE.username, ALICE.password);
    expect(
      (
        await readOnly.fetch('/api/v0/repositories/alice', {
          ...json('POST', { name: 'frozen' }),
          authorization: auth(ALICE),
        })
      ).status,
    ).toBe(201);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await readOnly?.close();
    await dtr?.close();
  });

  describe.each(VIEWPORTS)('at $width px', (viewport) => {
    const mine = `alice/demo-${viewport.name}`;
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

    const signIn = async (user: { username: string; password: string }, at = dtr) => {
      await signInAs(page, at.url, user);
      await page.waitForURL('**/repositories');
    };
    const rowNames = () =>
      page.$$eval('table.repositories a.repository-name', (links) =>
        links.map((link) => link.textContent?.trim() ?? ''),
      );

    it('lands on the list after sign-in: search, namespace and visibility filters, pages', async () => {
      await page.goto(`${dtr.url}/`);
      await expect.poll(() => page.url()).toContain('/login');
      await signIn(ALICE);
      await page.goto(`${dtr.url}/`);
      expect(new URL(page.url()).pathname).toBe('/repositories');
      expect(await page.textContent('h1')).toContain('Repositories');
      const first = await rowNames();
      expect(first).toHaveLength(50);
      expect(first).toContain(mine);
      expect(first).toContain('bob/tools');
      expect(first).not.toContain('bob/hidden');
      expect(first).not.toContain('acme/app');
      // Alice's secret, shared and one demo per width still there (each earlier width's run
      // deleted its own), bob/tools, dave's.
      const alices = 2 + VIEWPORTS.length - VIEWPORTS.indexOf(viewport);
      const total = alices + 1 + DAVE_REPOSITORIES;
      expect(await page.textContent('nav.pager')).toContain(`1–50 of ${total} repositories`);
      const namespaces = await page.$$eval('#namespace option', (options) =>
        options.map((option) => option.getAttribute('value') ?? ''),
      );
      expect(namespaces).toEqual(['', 'alice', 'bob', 'dave']);
      await shoot('repositories');

      await page.click('a[rel="next"]');
      await page.waitForURL('**/repositories?page=2');
      expect(await page.textContent('nav.pager')).toContain(`51–${total} of ${total}`);
      expect(await page.locator('a[rel="next"]').count()).toBe(0);
      await page.click('a[rel="prev"]');
      await page.waitForURL((url) => url.search === '');

      await page.fill('#q', 'DEMO');
      await page.click('button:has-text("Filter")');
      await page.waitForURL((url) => url.searchParams.get('q') === 'DEMO');
      const found = await rowNames();
      expect(found).toContain(mine);
      expect(found.every((name) => name.includes('demo'))).toBe(true);

      await page.fill('#q', '');
      await page.selectOption('#namespace', 'alice');
      await page.selectOption('#visibility', 'public');
      await page.click('button:has-text("Filter")');
      await page.waitForURL(
        (url) =>
          url.searchParams.get('namespace') === 'alice' &&
          url.searchParams.get('visibility') === 'public',
      );
      expect(await rowNames()).toEqual(['alice/shared']);
      expect(await page.textContent('table.repositories')).toContain('public');

      await page.goto(`${dtr.url}/repositories?visibility=private&namespace=alice`);
      expect(await rowNames()).toEqual(expect.arrayContaining(['alice/secret', mine]));
      expect(await rowNames()).not.toContain('alice/shared');

      // "_" is a character, not LIKE's wildcard (which would match "bob/tools").
      await page.goto(`${dtr.url}/repositories?q=o_l`);
      expect(await rowNames()).toEqual([]);
      expect(await page.textContent('main')).toContain('No repositories match these filters');
      await page.goto(`${dtr.url}/repositories?q=${encodeURIComponent('<b>zz</b>')}`);
      expect(await page.inputValue('#q')).toBe('<b>zz</b>');
      expect(await page.locator('main b').count()).toBe(0);
      await shoot('repositories-no-match');
    });

    it('refuses bad filters with a clear message and 400', async () => {
      await signIn(ALICE);
      for (const query of [
        'visibility=secret',
        'page=0',
        'page=abc',
        'namespace=No%20Such',
        `q=${'x'.repeat(300)}`,
      ]) {
        const response = await page.goto(`${dtr.url}/repositories?${query}`);
        expect(response?.status(), query).toBe(400);
        expect(await page.textContent('.notice.error')).toBeTruthy();
      }
      await shoot('repositories-bad-filter');
      const beyond = await page.goto(`${dtr.url}/repositories?page=999`);
      expect(beyond?.status()).toBe(200);
      expect(await page.textContent('nav.pager')).toContain('No repositories on page 999');
    });

    it('tells a user without repositories how to push the first image', async () => {
      await signIn(ERIN);
      await page.goto(`${dtr.url}/repositories?namespace=erin`);
      const host = new URL(dtr.url).host;
      expect(await page.textContent('pre.command')).toContain(
        `docker push ${host}/erin/my-image:latest`,
      );
      await shoot('repositories-empty');
    });

    it('shows a repository: facts, tags with kinds, sizes, platforms, referrers, pull commands', async () => {
      const { image, index, signature } = demo.get(viewport.name) as NonNullable<
        ReturnType<typeof demo.get>
      >;
      await signIn(ALICE);
      await page.goto(`${dtr.url}/repositories?q=demo-${viewport.name}`);
      await page.click(`a.repository-name:has-text("${mine}")`);
      await page.waitForURL(`**/repositories/${mine}`);
      expect(await page.textContent('h1')).toContain(mine);
      const facts = await page.textContent('dl.facts');
      expect(facts).toContain('private');
      expect(facts).toMatch(/Owner\s+alice\s+\(user\)/);
      expect(facts).toMatch(/Tags\s+3/);

      const row = (tag: string) =>
        page.locator('table.tags tbody tr', { has: page.locator(`td.tag-name:text-is("${tag}")`) });
      expect(
        await page.$$eval('table.tags td.tag-name', (cells) =>
          cells.map((cell) => cell.textContent?.trim()),
        ),
      ).toEqual(['1.0', 'multi', 'old']);
      const imageRow = row('1.0');
      expect(await imageRow.locator('.kind').textContent()).toBe('image');
      expect(await imageRow.locator('td.size').textContent()).toContain(
        formatBytes(image.contentBytes),
      );
      expect(await imageRow.locator('code.digest').first().textContent()).toBe(
        shortDigest(image.descriptor.digest),
      );
      expect(await imageRow.locator('code.digest').first().getAttribute('title')).toBe(
        image.descriptor.digest,
      );
      const referrers = await imageRow.locator('ul.referrers').textContent();
      expect(referrers).toContain(SIGNATURE_TYPE);
      expect(referrers).toContain(shortDigest(signature));
      const indexRow = row('multi');
      expect(await indexRow.locator('.kind').textContent()).toBe('index');
      expect(await indexRow.locator('td.size').textContent()).toContain(
        `${formatBytes(index.contentBytes)} (2 platforms)`,
      );
      expect(await indexRow.locator('ul.platforms li').allTextContents()).toEqual([
        'linux/amd64',
        'linux/arm64/v8',
      ]);
      expect(await indexRow.locator('ul.referrers').count()).toBe(0);

      // The pull commands are for the most recent tag, at the host the browser used.
      const host = new URL(dtr.url).host;
      expect(await page.textContent('#pull h2')).toContain(`${mine}:1.0`);
      const commands = Object.fromEntries(
        await page.$$eval('#pull pre.command', (blocks) =>
          blocks.map((block) => [block.getAttribute('data-client'), block.textContent ?? '']),
        ),
      ) as Record<string, string>;
      expect(Object.keys(commands)).toEqual(['docker', 'podman', 'skopeo', 'ctr']);
      for (const command of Object.values(commands))
        expect(command).toContain(`${host}/${mine}:1.0`);
      expect(commands['docker']).toContain(`docker pull ${host}/${mine}:1.0`);
      expect(commands['podman']).toContain(`podman pull ${host}/${mine}:1.0`);
      expect(commands['skopeo']).toContain(
        `skopeo copy --src-creds alice docker://${host}/${mine}:1.0`,
      );
      expect(commands['ctr']).toBe(
        `ctr images pull --hosts-dir /etc/containerd/certs.d --user alice ${host}/${mine}:1.0`,
      );
      await shoot('repository');

      await page.click('a[aria-label="Pull commands for multi"]');
      await page.waitForURL(`**/repositories/${mine}?tag=multi#pull`);
      expect(await page.textContent('#pull h2')).toContain(`${mine}:multi`);
      const missing = await page.goto(`${dtr.url}/repositories/${mine}?tag=nope`);
      expect(missing?.status()).toBe(404);
      expect(await page.textContent('.notice.error')).toContain('There is no tag "nope"');
      expect(await page.textContent('#pull h2')).toContain(`${mine}:1.0`);
    });

    it('pages through tags and shows others no actions on a public repository', async () => {
      await signIn(ALICE);
      await page.goto(`${dtr.url}/repositories/dave/lib-00`);
      expect(await page.locator('table.tags tbody tr').count()).toBe(25);
      expect(await page.textContent('nav.pager')).toContain(`1–25 of ${MANY_TAGS} tags`);
      await page.click('a[rel="next"]');
      await page.waitForURL('**/repositories/dave/lib-00?page=2');
      expect(await page.locator('table.tags tbody tr').count()).toBe(MANY_TAGS - 25);
      expect(await page.locator('a:has-text("Delete")').count()).toBe(0);
      expect(await page.locator('button:has-text("Make")').count()).toBe(0);
      await shoot('repository-tags-page-2');
      await page.click('a[rel="prev"]');
      await page.waitForURL('**/repositories/dave/lib-00');
    });

    it('lets the owner change visibility, and delete a tag and the repository after confirming', async () => {
      await signIn(ALICE);
      await page.goto(`${dtr.url}/repositories/${mine}`);
      await page.click('button:has-text("Make public")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('now public');
      await shoot('repository-made-public');
      expect((await api(`/repositories/${mine}`, { authorization: auth(BOB) })).status).toBe(200);

      await page.click('a[aria-label="Delete tag old"]');
      await page.waitForURL(`**/repositories/${mine}/tags/old/delete`);
      expect(await page.textContent('h1')).toContain(`Delete tag ${mine}:old?`);
      await shoot('confirm-delete-tag');
      await page.click('a:has-text("Cancel")');
      await page.waitForURL(`**/repositories/${mine}`);
      expect(await page.locator('td.tag-name:text-is("old")').count()).toBe(1);
      await page.click('a[aria-label="Delete tag old"]');
      await page.click('button:has-text("Delete tag")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('The tag was deleted');
      await shoot('repository-tag-deleted');
      expect(await page.locator('td.tag-name:text-is("old")').count()).toBe(0);
      const manifest = await dtr.fetch(`/v2/${mine}/manifests/old`, { authorization: auth(ALICE) });
      expect(manifest.status).toBe(404);

      await page.click('a:has-text("Delete repository")');
      await page.waitForURL(`**/repositories/${mine}/delete`);
      expect(await page.textContent('main')).toMatch(/with its\s+2 tags/);
      await shoot('confirm-delete-repository');
      await page.click('button:has-text("Delete repository")');
      await page.waitForURL('**/repositories?notice=deleted');
      expect(await page.textContent('.notice.ok')).toContain('The repository was deleted');
      await shoot('repositories-after-delete');
      expect(await rowNames()).not.toContain(mine);
      expect((await api(`/repositories/${mine}`, { authorization: auth(ALICE) })).status).toBe(404);
    });

    it('shows others no actions: 403 on a repository they see, 404 on one they do not', async () => {
      await signIn(BOB);
      await page.goto(`${dtr.url}/repositories/alice/shared`);
      expect(await page.locator('button:has-text("Make private")').count()).toBe(0);
      expect(await page.locator('a:has-text("Delete")').count()).toBe(0);
      await shoot('repository-not-owner');
      const token = await csrf();
      for (const [path, form] of [
        ['/repositories/alice/shared/visibility', { _csrf: token, visibility: 'private' }],
        ['/repositories/alice/shared/delete', { _csrf: token }],
        ['/repositories/alice/shared/tags/latest/delete', { _csrf: token }],
      ] as const) {
        const refused = await post(path, form);
        expect(refused.status(), path).toBe(403);
        expect(await refused.text()).toContain('Only the owners of alice/shared');
      }
      for (const path of [
        '/repositories/alice/shared/delete',
        '/repositories/alice/shared/tags/latest/delete',
      ])
        expect((await page.goto(`${dtr.url}${path}`))?.status(), path).toBe(403);
      expect((await api('/repositories/alice/shared', { authorization: auth(BOB) })).status).toBe(
        200,
      );
      const stillThere = await dtr.fetch('/v2/alice/shared/manifests/latest', {
        method: 'HEAD',
        authorization: auth(ALICE),
      });
      expect(stillThere.status).toBe(200);

      // A private repository of someone else's: as if it did not exist.
      const hidden = await page.goto(`${dtr.url}/repositories/alice/secret`);
      expect(hidden?.status()).toBe(404);
      expect(await page.textContent('.notice.error')).toContain(
        'There is no repository named "alice/secret", or you may not see it',
      );
      await shoot('repository-not-found');
      for (const path of [
        '/repositories/alice/secret/visibility',
        '/repositories/alice/secret/delete',
        '/repositories/alice/secret/tags/latest/delete',
      ]) {
        const refused = await post(path, { _csrf: token, visibility: 'public' });
        expect(refused.status(), path).toBe(404);
      }
      expect((await page.goto(`${dtr.url}/repositories/alice/secret/delete`))?.status()).toBe(404);
      await page.goto(`${dtr.url}/repositories?q=secret`);
      expect(await rowNames()).toEqual([]);
      expect((await api('/repositories/alice/secret', { authorization: auth(ALICE) })).status).toBe(
        200,
      );
    });

    it("refuses an owner's form without its CSRF token, bad values and huge forms", async () => {
      await signIn(ALICE);
      await page.goto(`${dtr.url}/repositories/alice/shared`);
      const token = await csrf();
      for (const form of [
        { visibility: 'private' },
        { _csrf: 'forged', visibility: 'private' },
      ] as Array<Record<string, string>>) {
        const refused = await post('/repositories/alice/shared/visibility', form);
        expect(refused.status()).toBe(403);
        expect(await refused.text()).toContain('did not come from this site');
      }
      expect((await post('/repositories/alice/shared/delete', {})).status()).toBe(403);
      expect((await post('/repositories/alice/shared/tags/latest/delete', {})).status()).toBe(403);
      const bad = await post('/repositories/alice/shared/visibility', {
        _csrf: token,
        visibility: 'secret',
      });
      expect(bad.status()).toBe(400);
      expect(await bad.text()).toContain('visibility must be');
      const huge = await post('/repositories/alice/shared/visibility', {
        _csrf: token,
        visibility: 'x'.repeat(100_000),
      });
      expect(huge.status()).toBe(413);
      const badTag = await post('/repositories/alice/shared/tags/-nope/delete', { _csrf: token });
      expect(badTag.status()).toBe(404);
      const noTag = await post('/repositories/alice/shared/tags/nope/delete', { _csrf: token });
      expect(noTag.status()).toBe(404);
      const after = (await (
        await api('/repositories/alice/shared', { authorization: auth(ALICE) })
      ).json()) as { visibility: string };
      expect(after.visibility).toBe('public');
      const anonymous = await fetch(`${dtr.url}/repositories/alice/shared`, { redirect: 'manual' });
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.get('location')).toContain('/login?next=');
    });

    it('shows organization members their private repositories; administrators see all', async () => {
      await signIn(CAROL);
      expect(await rowNames()).toContain('acme/app');
      await page.goto(`${dtr.url}/repositories/acme/app`);
      expect(await page.textContent('dl.facts')).toMatch(/Owner\s+acme\s+\(organization\)/);
      expect(await page.locator('button:has-text("Make public")').count()).toBe(1);
      await shoot('repository-organization');
      await tab.context.clearCookies();
      await signIn(ADMIN_USER);
      await page.goto(`${dtr.url}/repositories?visibility=private`);
      expect(await rowNames()).toEqual(
        expect.arrayContaining(['acme/app', 'alice/secret', 'bob/hidden']),
      );
    });

    it('respects read-only mode exactly as the API: visibility changes, deletes are refused', async () => {
      await signIn(ALICE, readOnly);
      await page.goto(`${readOnly.url}/repositories/alice/frozen`);
      expect(await page.textContent('.notice.warn')).toContain('read-only mode');
      expect(await page.locator('a:has-text("Delete")').count()).toBe(0);
      await shoot('repository-read-only');
      const delete405 = await page.goto(`${readOnly.url}/repositories/alice/frozen/delete`);
      expect(delete405?.status()).toBe(405);
      expect(await page.textContent('.notice.error')).toContain('read-only mode');
      await page.goto(`${readOnly.url}/repositories/alice/frozen`);
      const token = await csrf();
      const refused = await page.request.post(`${readOnly.url}/repositories/alice/frozen/delete`, {
        form: { _csrf: token },
        maxRedirects: 0,
      });
      expect(refused.status()).toBe(405);
      const viaApi = await readOnly.fetch('/api/v0/repositories/alice/frozen', {
        method: 'DELETE',
        authorization: auth(ALICE),
      });
      expect(viaApi.status).toBe(405);
      const target = viewport.name === 'wide' ? 'public' : 'private';
      // The wide run makes it public, the phone run private again.
      await page.click(`button:has-text("Make ${target}")`);
      await expect.poll(() => page.textContent('.notice.ok')).toContain(`now ${target}`);
      const repository = (await (
        await readOnly.fetch('/api/v0/repositories/alice/frozen', { authorization: auth(ALICE) })
      ).json()) as { visibility: string };
      expect(repository.visibility).toBe(target);
    });
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { browserTab, launchBrowser, signIn as signInAs, VIEWPORTS } from './browser-harness';
import { type CacheProcess, startCacheProcess } from './cache-dashboard-cache-process';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

const ALICE = { username: 'alice', password: 'alice-password' };
const BOB = { username: 'bob', password: 'bob-password' };

/** Reads until `done` says yes (expect.poll is not for beforeAll); throws after `timeoutMs`. */
async function waitUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What the dashboard JSON says of a cache (the part these tests read). */
interface DashboardJson {
  totals: { bytesServed: number; hitRatio: number | null };
  series: Array<{ bytesServed: number }>;
  members: Array<{ stats: { upstreams: string[]; fills: { committed: number } } | null }>;
}

describe('content cache pages in a real browser (with a real cache process)', () => {
  let dtr: RunningDtr;
  let browser: Browser;
  let cacheDirectory: string;
  let cache: CacheProcess;
  let nearId: number;
  const adminAuth = basic(ADMIN.username, ADMIN.password);

  const register = async (body: Record<string, unknown>) => {
    const created = await dtr.fetch('/api/v0/content_caches', {
      ...json('POST', body),
      authorization: adminAuth,
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { id: number }).id;
  };
  const dashboardOf = async (id: number) =>
    (await (
      await dtr.fetch(`/api/v0/content_caches/${id}/stats`, { authorization: adminAuth })
    ).json()) as DashboardJson;

  beforeAll(async () => {
    browser = await launchBrowser();
    dtr = await startDtr('', {
      DTR_API_CONTENTCACHES_SAMPLING_INTERVAL: '1s',
      DTR_API_CONTENTCACHES_HEALTHINTERVAL: '1s',
    });
    const alice = await dtr.createUser(ALICE.username, ALICE.password);
    await dtr.createUser(BOB.username, BOB.password);
    await register({ name: 'east', host: 'http://127.0.0.2:5000' });
    await register({ name: 'tokyo', host: 'http://127.0.0.3:5000' });

    cacheDirectory = await mkdtemp(join(tmpdir(), 'dtr-dashboard-cache-'));
    const config = join(cacheDirectory, 'config.yml');
    await writeFile(
      config,
      [
        'version: 0.1',
        'log: { level: info }',
        `storage: { filesystem: { rootdirectory: ${cacheDirectory}/store } }`,
        'http: { addr: "127.0.0.1:0" }',
        'middleware:',
        '  registry:',
        '    - name: downstream',
        '      options:',
        `        upstreams: [${dtr.url}]`,
        '        workers: 1',
        '        maxsize: 1073741824',
        '',
      ].join('\n'),
    );
    cache = await startCacheProcess(config);
    nearId = await register({ name: 'near', host: `http://127.0.0.1:${cache.port}` });
    const chose = await dtr.fetch('/api/v0/accounts/alice/settings', {
      ...json('PATCH', { contentCache: 'near' }),
      authorization: alice,
    });
    expect(chose.status).toBe(200);
    await waitUntil(
      async () =>
        (
          (await (
            await dtr.fetch(`/api/v0/content_caches/${nearId}`, { authorization: adminAuth })
          ).json()) as { health: { status: string } }
        ).health.status,
      (status) => status === 'healthy',
      15_000,
    );
    // A first sample before the pulls, so that the chart shows them as growth.
    await waitUntil(
      () => dashboardOf(nearId),
      (dashboard) => dashboard.members[0]?.stats != null,
      15_000,
    );
    // Alice pulls a layer through the cache twice: a miss (filled from DTR), then a hit.
    const layer = Buffer.alloc(300_000, 7);
    const digest = await dtr.pushBlob('alice/app', layer, alice);
    for (let pull = 0; pull < 2; pull += 1) {
      const bearer = `Bearer ${await dtr.token(['repository:alice/app:pull'], alice)}`;
      const redirect = await dtr.fetch(`/v2/alice/app/blobs/${digest}`, {
        authorization: bearer,
        redirect: 'manual',
      });
      expect(redirect.status).toBe(307);
      const location = redirect.headers.get('location') as string;
      expect(location).toContain(`127.0.0.1:${cache.port}`);
      const served = await fetch(location);
      expect(Buffer.from(await served.arrayBuffer()).length).toBe(layer.length);
      // The fill is committed (as the cache reports it) before the second pull: that one hits.
      await waitUntil(
        () => dashboardOf(nearId),
        (dashboard) => (dashboard.members[0]?.stats?.fills.committed ?? 0) >= 1,
        15_000,
      );
    }
    await waitUntil(
      async () => {
        const dashboard = await dashboardOf(nearId);
        return dashboard.series.some((point) => point.bytesServed > 0)
          ? dashboard.totals.bytesServed
          : 0;
      },
      (served) => served === 2 * layer.length,
      20_000,
    );
  }, 300_000);

  afterAll(async () => {
    await cache?.stop();
    await browser?.close();
    await dtr?.close();
    if (cacheDirectory) await rm(cacheDirectory, { recursive: true, force: true });
  });

  it('reads the real cache’s stats: its upstream is DTR, its numbers moved', async () => {
    const dashboard = await dashboardOf(nearId);
    expect(dashboard.members[0]?.stats?.upstreams).toEqual([`${dtr.url}/`]);
    expect(dashboard.totals.hitRatio).toBe(0.5);
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
      await signInAs(page, dtr.url, user);
    };

    it('lets an administrator register and delete caches, with clear errors', async () => {
      await signIn({ username: ADMIN.username, password: ADMIN.password });
      await page.goto(`${dtr.url}/users/${ADMIN.username}`);
      await page.click('header nav a:has-text("Content Caches")');
      await page.waitForURL('**/admin/content-caches');

      await page.fill('#name', 'Bad Name');
      await page.fill('#hosts', 'http://127.0.0.4:5000');
      await page.click('button:has-text("Register")');
      await expect
        .poll(() => page.textContent('.notice.error'))
        .toContain('invalid content cache name');
      expect(await page.inputValue('#hosts')).toBe('http://127.0.0.4:5000');

      await page.fill('#name', 'east');
      await page.click('button:has-text("Register")');
      await expect
        .poll(() => page.textContent('.notice.error'))
        .toContain('a content cache with this name exists');

      await page.fill('#name', 'los-angeles');
      await page.fill('#hosts', 'http://127.0.0.4:5000\nhttp://127.0.0.6:5000');
      await page.fill('#networks', '10.4.0.0/16');
      await page.click('button:has-text("Register")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('registered');
      expect(await page.textContent('table')).toContain('los-angeles');
      const listed = await dtr.fetch('/api/v0/content_caches', { authorization: adminAuth });
      const registered = (
        (await listed.json()) as {
          contentCaches: Array<{ name: string; hosts: string[]; networks: string[] }>;
        }
      ).contentCaches.find((cache) => cache.name === 'los-angeles');
      expect(registered).toMatchObject({
        hosts: ['http://127.0.0.4:5000', 'http://127.0.0.6:5000'],
        networks: ['10.4.0.0/16'],
      });

      // Delete asks first, naming the cache and the users who chose it; Cancel keeps it.
      await page.click('a[aria-label="Delete los-angeles"]');
      await page.waitForURL('**/admin/content-caches/*/delete');
      expect(await page.textContent('h1')).toContain('Delete los-angeles?');
      expect(await page.textContent('main')).toContain('No user has chosen this cache');
      await shoot('content-cache-delete');
      await page.click('main a:has-text("Cancel")');
      await page.waitForURL(/\/admin\/content-caches\/\d+$/);
      expect(await page.textContent('h1')).toContain('los-angeles');
      await page.click('a:has-text("Delete this cache")');
      await page.click('button:has-text("Delete los-angeles")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('deleted');
      expect(await page.textContent('main')).not.toContain('los-angeles');
      const after = await dtr.fetch('/api/v0/content_caches', { authorization: adminAuth });
      expect(JSON.stringify(await after.json())).not.toContain('los-angeles');
    });

    it('names the users who chose a cache on its delete page', async () => {
      await signIn({ username: ADMIN.username, password: ADMIN.password });
      await page.goto(`${dtr.url}/admin/content-caches/${nearId}/delete`);
      expect(await page.textContent('main')).toContain(
        '1 user has chosen this cache in their settings',
      );
    });

    it('shows every cache’s numbers, health in words and the topology', async () => {
      await signIn({ username: ADMIN.username, password: ADMIN.password });
      await page.goto(`${dtr.url}/admin/content-caches`);
      const near = page.locator('tr', { hasText: 'near' });
      const nearText = (await near.textContent()) ?? '';
      expect(nearText).toContain('50.0 %');
      expect(nearText).toContain('586 KiB');
      expect(nearText).toContain('293 KiB of 1.0 GiB');
      expect(nearText).toMatch(/1\s+by setting/);
      const east = (await page.locator('tr', { hasText: 'east' }).textContent()) ?? '';
      expect(east).toContain('Unhealthy: unreachable');
      const topology = page.locator('svg.topology');
      expect(await topology.locator('text.name').allTextContents()).toEqual(
        expect.arrayContaining(['DTR', 'near', 'east', 'tokyo']),
      );
      expect(await topology.locator('line.edge').count()).toBe(3);
      await shoot('content-caches');
    });

    it('shows one cache’s live dashboard with its chart of the last hour', async () => {
      await signIn({ username: ADMIN.username, password: ADMIN.password });
      await page.goto(`${dtr.url}/admin/content-caches`);
      await page.click('a:has-text("near")');
      await page.waitForURL(`**/admin/content-caches/${nearId}`);
      expect(await page.textContent('[data-stat="hitRatio"]')).toBe('50.0 %');
      expect(await page.textContent('[data-stat="bytesServed"]')).toBe('586 KiB');
      expect(await page.textContent('[data-stat="bytesFetched"]')).toBe('293 KiB');
      expect(await page.textContent('.subtitle')).toContain('Healthy');
      const points = (await page.getAttribute('#chart-bytes', 'points')) ?? '';
      expect(points.split(' ').length).toBeGreaterThan(0);
      expect(points).toMatch(/\d+(\.\d)?,\d+(\.\d)?/);
      // The script refreshes the numbers from the JSON every interval.
      await expect
        .poll(() => page.textContent('[data-updated]'), { timeout: 10_000 })
        .toContain('Live: updated');
      expect(await page.textContent('[data-stat="hitRatio"]')).toBe('50.0 %');
      await shoot('content-cache-dashboard');
    });

    it('saves an unhealthy cache on the Settings tab with a warning naming why', async () => {
      await signIn(BOB);
      await page.goto(`${dtr.url}/users/bob/settings`);
      await page.selectOption('#contentCache', 'east');
      await page.click('button:has-text("Save")');
      await expect
        .poll(() => page.textContent('.notice.warn'))
        .toContain('Saved, but east is unhealthy (unreachable)');
      expect(await page.locator('.notice.ok').count()).toBe(0);
      await shoot('settings-unhealthy-cache');
      await page.selectOption('#contentCache', '@automatic');
      await page.click('button:has-text("Save")');
      await expect.poll(() => page.textContent('.notice.ok')).toContain('saved');
      expect(await page.locator('.notice.warn').count()).toBe(0);
    });
  });
});

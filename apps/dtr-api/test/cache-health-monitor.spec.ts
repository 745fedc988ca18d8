import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@dtr-cache/logging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheAddressPolicy } from '../src/caches/cache-address-policy';
import { CacheHealthMonitor } from '../src/caches/cache-health-monitor';
import { CacheHealthStore } from '../src/store/cache-health-store';
import { ContentCacheStore } from '../src/store/content-cache-store';
import { openTestDatabase } from './test-database';

let slowCache: Server;
let url: string;

beforeAll(async () => {
  slowCache = createServer((_request, response) =>
    setTimeout(() => response.writeHead(401).end(), 200),
  );
  await new Promise<void>((resolve) => slowCache.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(slowCache.address() as AddressInfo).port}`;
});
afterAll(async () => {
  slowCache.closeAllConnections();
  await new Promise((resolve) => slowCache.close(resolve));
});

/** A monitor over a fresh database holding one cache whose checks take 200 ms. */
async function monitorOfSlowCache() {
  const database = await openTestDatabase();
  const caches = new ContentCacheStore(database.database);
  const cache = await caches.create('slow', [url]);
  const monitor = new CacheHealthMonitor(
    caches,
    new CacheHealthStore(database.database),
    { intervalMs: 60_000, timeoutMs: 2000, cas: [], addresses: new CacheAddressPolicy() },
    silentLogger,
  );
  return { database, cache, monitor };
}

describe('CacheHealthMonitor at shutdown', () => {
  it('waits for checks in flight, so the database can close after it, and never rejects', async () => {
    const { database, cache, monitor } = await monitorOfSlowCache();
    const pending = monitor.check(cache);
    await monitor.stop();
    await database.close();
    await expect(pending).resolves.toMatchObject({ healthy: true });
    await expect(monitor.checkAll()).resolves.toBeUndefined();
  });

  it('does not reject when the database closed under a check', async () => {
    const { database, cache, monitor } = await monitorOfSlowCache();
    const pending = monitor.check(cache);
    await database.close();
    await expect(pending).resolves.toMatchObject({ healthy: true });
    await expect(monitor.checkAll()).resolves.toBeUndefined();
    await monitor.stop();
  });
});

describe('CacheHealthMonitor across replicas', () => {
  it('judges a cache by the latest check any replica recorded, and checks only caches nobody checked lately', async () => {
    let status = 401;
    let requests = 0;
    const cache = createServer((_request, response) => {
      requests += 1;
      response.writeHead(status).end();
    });
    await new Promise<void>((resolve) => cache.listen(0, '127.0.0.1', resolve));
    const database = await openTestDatabase();
    try {
      const caches = new ContentCacheStore(database.database);
      const registered = await caches.create('shared', [
        `http://127.0.0.1:${(cache.address() as AddressInfo).port}`,
      ]);
      const replica = () =>
        new CacheHealthMonitor(
          caches,
          new CacheHealthStore(database.database),
          { intervalMs: 60_000, timeoutMs: 2000, cas: [], addresses: new CacheAddressPolicy() },
          silentLogger,
        );
      const [one, two] = [replica(), replica()];
      expect(await one.check(registered)).toMatchObject({ healthy: true });
      await two.checkAll();
      expect(two.status(registered)).toMatchObject({ healthy: true });
      expect(requests).toBe(1);

      status = 503;
      expect(await one.check(registered)).toMatchObject({ healthy: false, error: 'HTTP 503' });
      await two.checkAll();
      expect(two.status(registered)).toMatchObject({ healthy: false, error: 'HTTP 503' });
      expect(requests).toBe(2);

      // An older result arriving late does not replace the latest one.
      await new CacheHealthStore(database.database).record(registered.id, registered.host, {
        healthy: true,
        checkedAt: new Date(Date.now() - 30_000),
        error: undefined,
      });
      await two.checkAll();
      expect(two.status(registered)).toMatchObject({ healthy: false });
      await Promise.all([one.stop(), two.stop()]);
    } finally {
      await database.close();
      cache.closeAllConnections();
      await new Promise((resolve) => cache.close(resolve));
    }
  });
});

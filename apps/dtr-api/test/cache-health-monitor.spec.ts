import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@dtr-cache/logging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheAddressPolicy } from '../src/caches/cache-address-policy';
import { CacheHealthMonitor } from '../src/caches/cache-health-monitor';
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
  const cache = await caches.create('slow', url);
  const monitor = new CacheHealthMonitor(
    caches,
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

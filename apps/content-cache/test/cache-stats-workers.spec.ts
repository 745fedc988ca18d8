import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CACHE_STATS_PATH,
  type CacheStats,
  parseCacheStats,
  signCacheStatsCredential,
} from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCache, type StartedCache, stopCache } from './cache-process';
import { StandInOrigin } from './stand-in-origin';

// The program itself with two worker processes and `http.prefix`: its stats cover both workers.
let origin: StandInOrigin;
let root: string;
let cache: StartedCache;
let url: string;

beforeAll(async () => {
  origin = await StandInOrigin.start();
  root = await mkdtemp(join(tmpdir(), 'cache-stats-workers-'));
  const config = join(root, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: info }',
      `storage: { filesystem: { rootdirectory: ${root}/store } }`,
      'http: { addr: "127.0.0.1:0", prefix: /cache/ }',
      'middleware:',
      '  registry:',
      '    - name: downstream',
      '      options:',
      `        upstreams: [${origin.url}]`,
      '        workers: 2',
      '        maxsize: 1048576',
      '',
    ].join('\n'),
  );
  cache = await startCache(config);
  url = `http://127.0.0.1:${cache.port}`;
  // Both workers listen before the pulls are spread over them.
  const deadline = Date.now() + 30_000;
  while ((cache.output().match(/msg="?listening/g) ?? []).length < 2) {
    if (Date.now() > deadline) throw new Error(`the workers did not listen:\n${cache.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);
afterAll(async () => {
  if (cache) await stopCache(cache);
  await origin?.close();
  await rm(root, { recursive: true, force: true });
});

async function stats(path = `/cache${CACHE_STATS_PATH}`): Promise<CacheStats> {
  const credential = await signCacheStatsCredential(origin.key, {
    issuer: 'dtr',
    lifetimeSeconds: 30,
  });
  const response = await fetch(`${url}${path}`, {
    headers: { Authorization: `Bearer ${credential}` },
  });
  expect(response.status).toBe(200);
  return parseCacheStats(await response.json());
}

describe('the stats of a cache with two workers', () => {
  it('answers below http.prefix and at the root, without waiting for anything', async () => {
    const below = await stats();
    const atRoot = await stats(CACHE_STATS_PATH);
    expect(below.upstreams).toEqual([`${origin.url}/`]);
    expect(atRoot.disk.limitBytes).toBe(1_048_576);
    const refused = await fetch(`${url}/cache${CACHE_STATS_PATH}`);
    expect(refused.status).toBe(401);
  });

  it('adds up the pulls of both workers', async () => {
    const before = await stats();
    const content = randomBytes(50_000);
    const digest = origin.add(content);
    // New connections each: the workers take them in turn.
    for (let pull = 0; pull < 6; pull += 1) {
      const response = await fetch(
        `${url}/cache/v2/alice/app/blobs/${digest}?grant=${await origin.grant('alice/app', digest)}`,
        { headers: { Connection: 'close' } },
      );
      expect(Buffer.from(await response.arrayBuffer()).length).toBe(content.length);
    }
    await expect
      .poll(
        async () => {
          const after = await stats();
          const served = (counts: CacheStats) =>
            counts.requests.hit + counts.requests.miss + counts.requests.coalesced;
          return {
            pulls: served(after) - served(before),
            bytes: after.bytesServed - before.bytesServed,
            stored: after.disk.usedBytes,
          };
        },
        { timeout: 10_000 },
      )
      .toEqual({ pulls: 6, bytes: 6 * content.length, stored: content.length });
    const servedBy = new Set(
      cache
        .output()
        .split('\n')
        .filter((line) => line.includes('blob request'))
        .map((line) => /worker"?[=:]"?(\d+)/.exec(line)?.[1]),
    );
    expect([...servedBy].sort()).toEqual(['1', '2']);
  });
});

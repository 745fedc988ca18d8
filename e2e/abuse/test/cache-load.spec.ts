/**
 * Load aimed at a content cache (los-angeles, the second hop, TLS) through the process topology:
 * readers that never read, one address opening more connections than its share, connections
 * that never finish their request head, and 500 clients missing the same blob at once. An
 * innocent user is served throughout; memory and descriptors are measured from /proc.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type RunningTopology, startTopology, type User } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbuseReport } from './abuse-report';
import { type Bystander, recordBystander, startInnocentBystander } from './bystander';
import {
  descriptorsOf,
  eventually,
  fetchDigest,
  mb,
  MB,
  misnamedBlobs,
  pidOf,
  rssOf,
  sleep,
  slowHeaders,
  stallRead,
  type StalledRead,
} from './probes';
import { RegistryClient } from './registry-client';

const report = new AbuseReport('cache-load');
let topology: RunningTopology;
let client: RegistryClient;
let demo: User;
let bystander: Bystander;

/** The RSS a stalled reader may add to a cache, and 1000 of them, as the issue states. */
const STALLED_READERS = 1000;
const STALLED_READERS_RSS_BOUND = 300 * MB;

beforeAll(async () => {
  topology = await startTopology('127.0.1.50');
  client = new RegistryClient(topology);
  demo = topology.endpoints.users.demo;
  bystander = await startInnocentBystander(client);
});

afterAll(async () => {
  await recordBystander(bystander, report, 'load');
  await report.finish();
  await topology?.dispose();
});

/** The five client addresses of the load: 200 connections each stay within the per-address cap. */
const ADDRESSES = ['127.0.5.1', '127.0.5.2', '127.0.5.3', '127.0.5.4', '127.0.5.5'];

describe('load on a content cache', () => {
  it(`${STALLED_READERS} readers of a 256 MiB hit that never read`, async () => {
    const digest = await client.pushBlob(demo, 'demo/big', randomBytes(256 * MB));
    const url = await client.blobUrl(demo, 'demo/big', digest);
    const warm = await fetchDigest(topology, url);
    expect(`sha256:${warm.sha256}`).toBe(digest);
    const pid = await pidOf(topology, 'los-angeles');
    await sleep(2000);
    const idle = await rssOf(pid);
    const fdsIdle = (await descriptorsOf(pid)).all;
    const readers: StalledRead[] = [];
    for (let index = 0; index < STALLED_READERS; index += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, offset) =>
          stallRead(topology, url, ADDRESSES[(index + offset) % ADDRESSES.length]),
        ),
      );
      readers.push(...batch);
    }
    await sleep(3000);
    const peak = await rssOf(pid);
    const fdsPeak = (await descriptorsOf(pid)).all;
    for (const reader of readers) reader.destroy();
    await sleep(5000);
    const after = await rssOf(pid);
    const fdsAfter = (await descriptorsOf(pid)).all;
    const served = readers.filter((reader) => reader.status === 200).length;
    const ok = report.record({
      attack: `${STALLED_READERS} stalled readers (5 addresses x 200)`,
      expected: `< ${mb(STALLED_READERS_RSS_BOUND)} above idle RSS; back within 48 MB of idle; fds back`,
      observed: `${served} answered 200; RSS idle ${mb(idle)}, peak ${mb(peak)} (+${mb(peak - idle)}), after ${mb(after)}; fds ${fdsIdle} -> ${fdsPeak} -> ${fdsAfter}`,
      passed:
        served === STALLED_READERS &&
        peak - idle < STALLED_READERS_RSS_BOUND &&
        after - idle < 48 * MB &&
        fdsAfter <= fdsIdle + 10,
    });
    expect(ok).toBe(true);
  });

  it('one address opening 300 connections at once', async () => {
    const digest = await client.pushBlob(demo, 'demo/many', randomBytes(8 * MB));
    const url = await client.blobUrl(demo, 'demo/many', digest);
    const held = await Promise.all(
      Array.from({ length: 300 }, () => stallRead(topology, url, '127.0.5.10')),
    );
    const statuses = new Map<number, number>();
    for (const { status } of held) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const other = await fetchDigest(topology, url, { from: '127.0.5.11' });
    for (const reader of held) reader.destroy();
    const ok = report.record({
      attack: '300 connections from one address',
      expected: 'at most 256 served at once; the rest 429; other addresses served',
      observed: `${[...statuses].map(([status, count]) => `${count} x ${status}`).join(', ')}; another address: ${other.status}`,
      passed:
        (statuses.get(200) ?? 0) <= 256 &&
        (statuses.get(200) ?? 0) + (statuses.get(429) ?? 0) + (statuses.get(0) ?? 0) === 300 &&
        (statuses.get(429) ?? 0) + (statuses.get(0) ?? 0) >= 44 &&
        other.status === 200 &&
        `sha256:${other.sha256}` === digest,
    });
    expect(ok).toBe(true);
  });

  it('300 connections that never finish their request head', async () => {
    const cache = topology.endpoints.caches['los-angeles']?.url as string;
    const pid = await pidOf(topology, 'los-angeles');
    const before = (await descriptorsOf(pid)).all;
    const started = Date.now();
    const slow = Array.from({ length: 300 }, (_, index) =>
      slowHeaders(topology, `${cache}/v2/`, ADDRESSES[index % 3] as string, 5000),
    );
    await sleep(2000);
    const during = (await descriptorsOf(pid)).all;
    const allClosed = await eventually(
      () => slow.every((connection) => connection.closed()),
      120_000,
      1000,
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    for (const connection of slow) connection.destroy();
    const ok = report.record({
      attack: '300 slow-header connections',
      expected: 'closed by the cache within its header timeout; others served',
      observed: `all closed: ${allClosed} after ${seconds} s; cache fds ${before} -> ${during} -> ${(await descriptorsOf(pid)).all}`,
      passed: allClosed,
    });
    expect(ok).toBe(true);
  });

  it('500 clients missing the same blob at once', async () => {
    const digest = await client.pushBlob(demo, 'demo/hot', randomBytes(16 * MB));
    const url = await client.blobUrl(demo, 'demo/hot', digest);
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, index) =>
        fetchDigest(topology, url, {
          from: ADDRESSES[index % ADDRESSES.length],
          timeoutMs: 180_000,
        }),
      ),
    );
    const good = results.filter(
      (result) => result.status === 200 && result.complete && `sha256:${result.sha256}` === digest,
    ).length;
    const wrong = results.filter(
      (result) => result.complete && result.status === 200 && `sha256:${result.sha256}` !== digest,
    ).length;
    const dtrGets = (await topology.dtrBlobStatuses('demo/hot', digest)).length;
    const misnamed = [
      ...(await misnamedBlobs(join(topology.data, 'los-angeles', 'storage'))),
      ...(await misnamedBlobs(join(topology.data, 'san-francisco', 'storage'))),
    ];
    const ok = report.record({
      attack: '500 concurrent misses of one 16 MiB blob',
      expected: 'all 500 complete and right; one fill GET reaches DTR',
      observed: `${good} right, ${wrong} wrong, ${500 - good - wrong} other; DTR blob GETs for it: ${dtrGets}; misnamed stored blobs: ${misnamed.length}`,
      passed: good === 500 && wrong === 0 && dtrGets === 1 && misnamed.length === 0,
    });
    expect(ok).toBe(true);
  });
});

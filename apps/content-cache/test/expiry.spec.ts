import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BlobStore,
  FilesystemDriver,
  MemoryDriver,
  openBlobStore,
} from '@dtr-cache/blob-store';
import { silentLogger } from '@dtr-cache/logging';
import { Digest } from '@dtr-cache/registry-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { BlobExpiry } from '../src/cache/blob-expiry';
import { buildCacheServices } from '../src/cache-services';
import { startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

async function store(blobs: BlobStore, content: Buffer, at?: Date): Promise<Digest> {
  const writer = await blobs.create();
  writer.end(content);
  const digest = Digest.of(content);
  await writer.commit(digest, content.length);
  if (at) await blobs.touch(digest, at);
  return digest;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('blobttl (last-pull expiry)', () => {
  it('deletes blobs not pulled within the TTL, counting from the last pull', async () => {
    const blobs = await openBlobStore(new MemoryDriver());
    const t0 = Date.parse('2026-11-23T00:00:00Z');
    const a = await store(blobs, Buffer.from('a'), new Date(t0));
    const b = await store(blobs, Buffer.from('b'), new Date(t0));
    const expiry = await BlobExpiry.load(
      blobs,
      { ttlMs: 100_000, maxSize: undefined, sweepIntervalMs: 1000 },
      silentLogger,
    );
    expiry.reading(a, 1, t0 + 50_000)();
    expect(await expiry.sweep(t0 + 100_000)).toMatchObject({ expired: 1 });
    expect(await blobs.stat(b)).toBeUndefined();
    expect(await blobs.stat(a)).toBeDefined();
    expect(await expiry.sweep(t0 + 149_999)).toMatchObject({ expired: 0 });
    expect(await expiry.sweep(t0 + 150_000)).toMatchObject({ expired: 1 });
    expect(await blobs.stat(a)).toBeUndefined();
  });

  it('never deletes a blob while it is being read; a later sweep does', async () => {
    const blobs = await openBlobStore(new MemoryDriver());
    const digest = await store(blobs, Buffer.from('busy'));
    const expiry = await BlobExpiry.load(
      blobs,
      { ttlMs: 1000, maxSize: undefined, sweepIntervalMs: 1000 },
      silentLogger,
    );
    const done = expiry.reading(digest, 4);
    expect(await expiry.sweep(Date.now() + 10_000)).toMatchObject({ expired: 0 });
    expect(await blobs.stat(digest)).toBeDefined();
    done();
    expect(await expiry.sweep(Date.now() + 10_000)).toMatchObject({ expired: 1 });
  });

  it('sweeps at a cost that does not grow with the number of unexpired blobs', async () => {
    const blobs = await openBlobStore(new MemoryDriver());
    const expiry = await BlobExpiry.load(
      blobs,
      { ttlMs: 1000, maxSize: undefined, sweepIntervalMs: 1000 },
      silentLogger,
    );
    const now = Date.now();
    const old = await store(blobs, Buffer.from('old'));
    expiry.stored(old, 3, now - 5000);
    for (let index = 0; index < 10_000; index += 1)
      expiry.stored(Digest.of(`fresh ${index}`), 1, now);
    const result = await expiry.sweep(now);
    expect(result).toEqual({ expired: 1, evicted: 0, examined: 2 });
    expect(expiry.stats.blobs).toBe(10_000);
  });

  it('builds its index in the background: pulls count meanwhile, sweeps wait for the whole store', async () => {
    const blobs = await openBlobStore(new MemoryDriver());
    const t0 = Date.parse('2026-11-23T00:00:00Z');
    const stale = await store(blobs, Buffer.from('stale'), new Date(t0));
    const pulled = await store(blobs, Buffer.from('pulled'), new Date(t0));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // A store that takes its time to list (millions of blobs on a slow disk).
    const slow: BlobStore = Object.assign(Object.create(blobs) as BlobStore, {
      list: async function* () {
        await gate;
        yield* blobs.list();
      },
    });
    const expiry = BlobExpiry.open(
      slow,
      { ttlMs: 100_000, maxSize: undefined, sweepIntervalMs: 1000 },
      silentLogger,
    );
    expiry.reading(pulled, 6, t0 + 150_000)();
    expect(await expiry.sweep(t0 + 200_000)).toEqual({ expired: 0, evicted: 0, examined: 0 });
    expect(await blobs.stat(stale)).toBeDefined();
    release();
    await expiry.ready;
    expect(expiry.stats).toMatchObject({ blobs: 2, bytes: 11 });
    // The pull made while the store was read counts, not the older time on disk.
    expect(await expiry.sweep(t0 + 200_000)).toMatchObject({ expired: 1 });
    expect(await blobs.stat(stale)).toBeUndefined();
    expect(await blobs.stat(pulled)).toBeDefined();
  });

  it('reads the store only once what it was told to wait for settled (the workers listen)', async () => {
    const blobs = await openBlobStore(new MemoryDriver());
    await store(blobs, Buffer.from('kept'));
    let listed = false;
    const watched: BlobStore = Object.assign(Object.create(blobs) as BlobStore, {
      list: async function* () {
        listed = true;
        yield* blobs.list();
      },
    });
    let listening!: () => void;
    const expiry = BlobExpiry.open(
      watched,
      { ttlMs: 100_000, maxSize: undefined, sweepIntervalMs: 1000 },
      silentLogger,
      undefined,
      new Promise<void>((resolve) => (listening = resolve)),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(listed).toBe(false);
    listening();
    await expiry.ready;
    expect(listed).toBe(true);
    expect(expiry.stats.blobs).toBe(1);
  });

  it('keeps its clock across a restart: pull times live on disk', async () => {
    const root = await mkdtemp(join(tmpdir(), 'expiry-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const before = await openBlobStore(new FilesystemDriver(root));
    const stale = await store(before, Buffer.from('stale'), new Date(Date.now() - 3 * 3600_000));
    const fresh = await store(before, Buffer.from('fresh'));
    const restarted = await openBlobStore(new FilesystemDriver(root));
    const expiry = await BlobExpiry.load(
      restarted,
      { ttlMs: 3600_000, maxSize: undefined, sweepIntervalMs: 1000 },
      silentLogger,
    );
    expect(await expiry.sweep()).toMatchObject({ expired: 1 });
    expect(await restarted.stat(stale)).toBeUndefined();
    expect(await restarted.stat(fresh)).toBeDefined();
  });
});

describe('maxsize (least-recently-pulled eviction)', () => {
  it('evicts the least recently pulled blobs as soon as the limit is passed', async () => {
    const blobs = await openBlobStore(new MemoryDriver());
    const expiry = await BlobExpiry.load(
      blobs,
      { ttlMs: undefined, maxSize: 1000, sweepIntervalMs: 1000 },
      silentLogger,
    );
    const now = Date.now();
    const a = await store(blobs, randomBytes(400));
    expiry.stored(a, 400, now);
    const b = await store(blobs, randomBytes(400));
    expiry.stored(b, 400, now + 1);
    expiry.reading(a, 400, now + 2)();
    const c = await store(blobs, randomBytes(400));
    expiry.stored(c, 400, now + 3);
    await expiry.sweep(now + 4);
    expect(await blobs.stat(b)).toBeUndefined();
    expect(await blobs.stat(a)).toBeDefined();
    expect(await blobs.stat(c)).toBeDefined();
    expect(expiry.stats).toMatchObject({ blobs: 2, bytes: 800 });
  });
});

describe('expiry in the running cache', () => {
  it('a pull after the TTL fills again; a blob pulled within it stays', async () => {
    const origin = await StandInOrigin.start();
    cleanups.push(() => origin.close());
    const cache = await startCache({
      upstreams: [origin.url],
      expiry: { ttlMs: 60_000, maxSize: undefined, sweepIntervalMs: 3_600_000 },
    });
    cleanups.push(() => cache.close());
    const content = randomBytes(50_000);
    const digest = origin.add(content);
    const url = async () =>
      `${cache.url}/v2/alice/app/blobs/${digest}?grant=${await origin.grant('alice/app', digest)}`;
    // The second pull reads the disk, the third is served from the memory tier: each ends its
    // read (a read still counted would keep the blob forever).
    for (let pull = 0; pull < 3; pull += 1) {
      const bytes = await fetch(await url()).then((response) => response.arrayBuffer());
      expect(bytes.byteLength).toBe(content.length);
    }
    expect(await cache.expiry?.sweep(Date.now() + 30_000)).toMatchObject({ expired: 0 });
    expect(await cache.expiry?.sweep(Date.now() + 61_000)).toMatchObject({ expired: 1 });
    expect(await cache.cache.local.stat(digest)).toBeUndefined();
    const again = Buffer.from(await (await fetch(await url())).arrayBuffer());
    expect(again.equals(content)).toBe(true);
    expect(origin.blobGets(digest)).toBe(2);
  });
});

describe('a large store at start-up', () => {
  it('does not wait for the store to be read before the cache is ready to serve', async () => {
    const origin = await StandInOrigin.start();
    cleanups.push(() => origin.close());
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    /** A driver whose listing of the blobs takes as long as the test says. */
    class SlowListingDriver extends MemoryDriver {
      override async *list(prefix: string) {
        await gate;
        yield* super.list(prefix);
      }
    }
    const services = await buildCacheServices({
      logger: silentLogger,
      driver: new SlowListingDriver(),
      memorySize: 0,
      upstream: {
        hosts: [new URL(origin.url)],
        cas: [],
        connectTimeoutMs: 2000,
        stallTimeoutMs: 5000,
        failureThreshold: 3,
        cooldownMs: 30_000,
      },
      expiry: { ttlMs: 60_000, maxSize: undefined, sweepIntervalMs: 3_600_000 },
    });
    cleanups.push(() => services.release());
    let ready = false;
    void services.expiry?.ready.then(() => (ready = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ready).toBe(false);
    release();
    await services.expiry?.ready;
    expect(ready).toBe(true);
  });
});

import { randomBytes } from 'node:crypto';
import type { Digest } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdPull, InterceptingDriver, type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

/** A memory driver whose disk holds `capacity` bytes of writes, then answers ENOSPC. */
class FullDiskDriver extends InterceptingDriver {
  used = 0;

  constructor(public capacity: number) {
    super();
  }

  protected override async onWrite(
    chunks: readonly Buffer[],
    write: () => Promise<void>,
  ): Promise<void> {
    const size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    if (this.used + size > this.capacity)
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    this.used += size;
    await write();
  }
}

const repository = 'alice/app';
let origin: StandInOrigin;
let cache: RunningCache;
let driver: FullDiskDriver;

beforeAll(async () => {
  origin = await StandInOrigin.start();
  driver = new FullDiskDriver(0);
  cache = await startCache({ upstreams: [origin.url], driver });
});
afterAll(async () => {
  await cache.close();
  await origin.close();
});

/** The URL of a blob at `at` (by default the shared cache), with a grant for it. */
async function url(digest: Digest, at: RunningCache = cache) {
  return `${at.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
}

describe('a full disk', () => {
  it('serves the blob through without keeping it, and keeps serving while the disk is full', async () => {
    const content = randomBytes(400_000);
    const digest = origin.add(content);
    for (let pull = 0; pull < 2; pull += 1) {
      const response = await fetch(await url(digest));
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    }
    expect(await cache.cache.local.stat(digest)).toBeUndefined();
    const results = cache.results(digest);
    expect(results).toEqual(['miss', 'pass-through']);
  });

  it('passes ranges through too', async () => {
    const content = randomBytes(100_000);
    const digest = origin.add(content);
    const response = await fetch(await url(digest), { headers: { Range: 'bytes=10-19' } });
    expect(response.status).toBe(206);
    expect(Buffer.from(await response.arrayBuffer()).equals(content.subarray(10, 20))).toBe(true);
  });

  it('still aborts bytes that do not match the digest', async () => {
    const content = randomBytes(100_000);
    const digest = origin.add(content, { kind: 'wrong-bytes' });
    const aborted = await fetch(await url(digest))
      .then((response) => response.arrayBuffer())
      .then(
        () => false,
        () => true,
      );
    expect(aborted).toBe(true);
  });
});

/** A memory driver that says how much room it has. */
class RoomDriver extends InterceptingDriver {
  constructor(private readonly room: number) {
    super();
  }

  async freeBytes(): Promise<number> {
    return this.room;
  }
}

describe('a disk without room for the blob', () => {
  it('serves it through without starting a fill, and answers HEAD from upstream', async () => {
    const driver = new RoomDriver(1024 * 1024);
    const own = await startCache({ upstreams: [origin.url], driver });
    try {
      const content = randomBytes(300_000);
      const digest = origin.add(content);
      const blobUrl = await url(digest, own);
      const response = await fetch(blobUrl);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
      const head = await fetch(blobUrl, { method: 'HEAD' });
      expect(head.headers.get('content-length')).toBe(String(content.length));
      expect(await own.cache.local.stat(digest)).toBeUndefined();
      expect(await driver.removeTempFiles()).toBe(0);
      expect(own.results(digest)).toEqual(['pass-through', 'head']);
    } finally {
      await own.close();
    }
  });
});

describe('a disk that fills up during a fill', () => {
  /** Starts a cache on a disk with room, pulls a blob and fills the disk once the first bytes arrive. */
  async function pullWhileTheDiskFills(digest: Digest) {
    const driver = new FullDiskDriver(Number.MAX_SAFE_INTEGER);
    const own = await startCache({ upstreams: [origin.url], driver });
    try {
      const pull = await holdPull(await url(digest, own));
      // The fill's next write finds the disk full; the client has bytes of the blob already.
      driver.capacity = driver.used;
      const { complete, body } = await pull.finish();
      return {
        complete,
        body,
        stored: await own.cache.local.stat(digest),
        tempFiles: await driver.removeTempFiles(),
      };
    } finally {
      await own.close();
    }
  }

  it('carries a client mid-body through: the rest comes from upstream, verified, and nothing is kept', async () => {
    const content = randomBytes(1024 * 1024);
    const digest = origin.add(content, { kind: 'slow', delayMs: 10 });
    const pulled = await pullWhileTheDiskFills(digest);
    expect(pulled.complete).toBe(true);
    expect(pulled.body.equals(content)).toBe(true);
    // The fill's download, and the one the client finished with.
    expect(origin.blobGets(digest)).toBe(2);
    expect(pulled.stored).toBeUndefined();
    expect(pulled.tempFiles).toBe(0);
  });

  it('aborts the client if the upstream does not send again the bytes it was sent', async () => {
    // The fill's download has wrong bytes (found out only at its end, which the full disk
    // forestalls); the second download is right, but does not begin with what the client has.
    const content = randomBytes(1024 * 1024);
    const digest = origin.add(content, { kind: 'wrong-bytes-once', delayMs: 10 });
    const pulled = await pullWhileTheDiskFills(digest);
    expect(pulled.complete).toBe(false);
    expect(pulled.body.length).toBeLessThan(content.length);
    expect(origin.blobGets(digest)).toBe(2);
    expect(pulled.stored).toBeUndefined();
  });
});

/** Runs `test` on a cache of its own whose disk says it has 1 MiB free. */
async function withRoomlessCache(test: (own: RunningCache) => Promise<void>): Promise<void> {
  const own = await startCache({ upstreams: [origin.url], driver: new RoomDriver(1024 * 1024) });
  try {
    await test(own);
  } finally {
    await own.close();
  }
}

describe('without room, clients asking at once', () => {
  /** Pulls `digest` from `own` with `count` clients at once; the bodies. */
  async function pullAtOnce(own: RunningCache, digest: Digest, count: number) {
    const blobUrl = await url(digest, own);
    return Promise.all(
      Array.from({ length: count }, async () => {
        const response = await fetch(blobUrl);
        return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
      }),
    );
  }

  /**
   * Five clients pull a new blob from `own` at once: nothing kept, one upstream download for the
   * clients of each worker (a download that keeps nothing is in one process's memory only).
   */
  async function expectOneSharedDownload(own: RunningCache) {
    const content = randomBytes(2 * 1024 * 1024);
    const digest = origin.add(content, { kind: 'slow', delayMs: 5 });
    const pulls = await pullAtOnce(own, digest, 5);
    expect(pulls.every((pull) => pull.status === 200 && pull.body.equals(content))).toBe(true);
    expect(origin.blobGets(digest)).toBe(own.workers);
    expect(await own.cache.local.stat(digest)).toBeUndefined();
    expect(own.results(digest)).toEqual(Array.from({ length: 5 }, () => 'pass-through'));
  }

  it('share one upstream download while the disk is full', async () => {
    const own = await startCache({ upstreams: [origin.url], driver: new FullDiskDriver(0) });
    try {
      // The first miss finds the disk full, which puts the cache (each worker it reached: as many
      // clients as workers) in its disk-full mode.
      await pullAtOnce(own, origin.add(randomBytes(100_000)), own.workers);
      await expectOneSharedDownload(own);
    } finally {
      await own.close();
    }
  });

  it('share one upstream download of a blob that does not fit', () =>
    withRoomlessCache(async (own) => {
      await expectOneSharedDownload(own);
    }));

  it('get a download that waits for the fastest of them, and stays for those still reading', () =>
    withRoomlessCache(async (own) => {
      // An upstream far faster than the one client, which stops for a while: the download may
      // not run ahead (its window would drop what the client needs next), and when it ends the
      // client still reads its last bytes from it.
      const content = randomBytes(48 * 1024 * 1024);
      const digest = origin.add(content);
      const pull = await holdPull(await url(digest, own));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { complete, body } = await pull.finish();
      expect(complete).toBe(true);
      expect(body.equals(content)).toBe(true);
      expect(origin.blobGets(digest)).toBe(1);
    }));

  it('get a range as soon as the whole download is verified', () =>
    withRoomlessCache(async (own) => {
      // Far more than the download may run ahead of a client that has its bytes already.
      const content = randomBytes(40 * 1024 * 1024);
      const digest = origin.add(content);
      const response = await fetch(await url(digest, own), {
        headers: { Range: 'bytes=0-99' },
        signal: AbortSignal.timeout(10_000),
      });
      expect(response.status).toBe(206);
      expect(Buffer.from(await response.arrayBuffer()).equals(content.subarray(0, 100))).toBe(true);
      expect(origin.blobGets(digest)).toBe(1);
    }));

  it('stop the download once no client reads it (unlike a fill, it keeps nothing)', () =>
    withRoomlessCache(async (own) => {
      const content = randomBytes(4 * 1024 * 1024);
      const digest = origin.add(content, { kind: 'slow', delayMs: 30 });
      const pull = await holdPull(await url(digest, own));
      expect(own.cache.fillsInProgress).toBe(1);
      pull.response.destroy();
      // The upstream would take about two seconds more.
      await expect.poll(() => own.cache.fillsInProgress, { timeout: 1000 }).toBe(0);
    }));

  it('leave a client that falls behind to its own download, verified', () =>
    withRoomlessCache(async (own) => {
      // Larger than the shared download's window (32 MiB) and the socket buffers together. The
      // download waits for its fastest client: the second client joins it and drives it on.
      const content = randomBytes(48 * 1024 * 1024);
      const digest = origin.add(content);
      const behind = await holdPull(await url(digest, own));
      // A client keeping up gets the whole blob from the shared download meanwhile.
      const [keepingUp] = await pullAtOnce(own, digest, 1);
      expect(keepingUp?.body.equals(content)).toBe(true);
      const { complete, body } = await behind.finish();
      expect(complete).toBe(true);
      expect(body.equals(content)).toBe(true);
      expect(origin.blobGets(digest)).toBe(2);
    }));
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '@dtr-cache/blob-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdPull, InterceptingDriver, type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

/** A memory driver whose temp files take their first write, then hold every later one until opened. */
class GatedDriver extends InterceptingDriver {
  writtenBytes = 0;
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  release(): void {
    this.open();
  }

  protected override async onWrite(
    chunks: readonly Buffer[],
    write: () => Promise<void>,
    index: number,
  ): Promise<void> {
    if (index > 0) await this.gate;
    await write();
    this.writtenBytes += chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  }
}

const repository = 'alice/app';
let origin: StandInOrigin;
let cache: RunningCache;
let driver: GatedDriver;

beforeAll(async () => {
  origin = await StandInOrigin.start();
  driver = new GatedDriver();
  cache = await startCache({ upstreams: [origin.url], driver });
});
afterAll(async () => {
  driver.release();
  await cache.close();
  await origin.close();
});

describe('a fill hands the newest bytes to clients from memory', () => {
  it('sends bytes the disk has not taken yet; the body ends once verified, the blob shows once stored', async () => {
    const content = randomBytes(4 * 1024 * 1024);
    const digest = origin.add(content);
    const url = `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
    const chunks: Buffer[] = [];
    const body = new Promise<number | undefined>((resolve, reject) => {
      get(url, (response) => {
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(response.statusCode));
        response.on('error', reject);
      }).on('error', reject);
    });
    // Storage holds its first write only; the client still gets every byte, verified: the digest
    // is checked as bytes arrive, not as they reach the disk.
    expect(await body).toBe(200);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    expect(driver.writtenBytes).toBeLessThan(content.length);
    // Nothing is visible before the bytes are stored.
    expect(await cache.cache.local.stat(digest)).toBeUndefined();
    expect(cache.cache.fillsInProgress).toBe(1);
    driver.release();
    await expect
      .poll(async () => (await cache.cache.local.stat(digest))?.size)
      .toBe(content.length);
  });
});

describe('a client that took the first bytes from memory and fell behind', () => {
  it('gets the rest from the stored file, after the fill was published', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'fill-handoff-'));
    const behind = await startCache({
      upstreams: [origin.url],
      driver: new FilesystemDriver(folder),
    });
    try {
      // Larger than the window and the socket buffers together, so the paused client still needs
      // bytes after the fill has been stored and the window dropped.
      const content = randomBytes(24 * 1024 * 1024);
      const digest = origin.add(content);
      const url = `${behind.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
      const pull = await holdPull(url);
      await expect
        .poll(async () => (await behind.cache.local.stat(digest))?.size, { timeout: 10_000 })
        .toBe(content.length);
      const { complete, body } = await pull.finish();
      expect(complete).toBe(true);
      expect(body.equals(content)).toBe(true);
    } finally {
      await behind.close();
      await rm(folder, { recursive: true, force: true });
    }
  });
});

/** A memory driver holding every write, the first included, until released; it may say its room. */
class HeldDriver extends InterceptingDriver {
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  constructor(private readonly room: number | undefined) {
    super();
  }

  release(): void {
    this.open();
  }

  async freeBytes(): Promise<number | undefined> {
    return this.room;
  }

  protected override async onWrite(
    _chunks: readonly Buffer[],
    write: () => Promise<void>,
  ): Promise<void> {
    await this.gate;
    await write();
  }
}

describe('the first bytes of a miss', () => {
  it('go out before the disk took any, whether or not the storage says its room', async () => {
    for (const room of [1024 * 1024 * 1024, undefined]) {
      const held = new HeldDriver(room);
      const own = await startCache({ upstreams: [origin.url], driver: held });
      try {
        const content = randomBytes(2 * 1024 * 1024);
        const digest = origin.add(content);
        const url = `${own.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
        const chunks: Buffer[] = [];
        const ended = new Promise<void>((resolve, reject) =>
          get(url, (response) => {
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.once('end', resolve);
          }).on('error', reject),
        );
        // Nothing has reached the disk, and the whole verified body arrives. (Were the disk to fill
        // up after all, the client would be carried through from upstream: disk-full.spec.)
        await Promise.race([
          ended,
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('no body while the disk held every write')), 3000),
          ),
        ]);
        expect(Buffer.concat(chunks).equals(content)).toBe(true);
        held.release();
        await ended;
        expect(Buffer.concat(chunks).equals(content)).toBe(true);
        await expect
          .poll(async () => (await own.cache.local.stat(digest))?.size)
          .toBe(content.length);
      } finally {
        held.release();
        await own.close();
      }
    }
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { globalAgent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver, type RecyclingReadable, type TempFile } from '@dtr-cache/blob-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

const repository = 'alice/app';
let origin: StandInOrigin;
let cache: RunningCache;
let folder: string;
/** Chunks the app handed back to the disk reads, to be read into again. */
let recycled = 0;

/** Chunks handed back to the temp files' read-backs (clients behind a fill). */
let recycledBehindFill = 0;

/** A filesystem driver counting the chunks handed back to its read streams and temp files. */
class CountingDriver extends FilesystemDriver {
  override async createTemp(): Promise<TempFile> {
    const temp = await super.createTemp();
    const recycle = temp.recycle?.bind(temp);
    temp.recycle = (chunk) => {
      recycledBehindFill += 1;
      recycle?.(chunk);
    };
    return temp;
  }

  override async read(
    key: string,
    range?: { offset: number; length?: number },
  ): Promise<RecyclingReadable> {
    const stream = (await super.read(key, range)) as RecyclingReadable;
    const recycle = stream.recycle.bind(stream);
    stream.recycle = (chunk) => {
      recycled += 1;
      recycle(chunk);
    };
    return stream;
  }
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'disk-hits-'));
  origin = await StandInOrigin.start();
  // The read-and-write path (TLS and memory hits take it always); sendfile is tested below.
  cache = await startCache({
    upstreams: [origin.url],
    driver: new CountingDriver(folder),
    sendFile: false,
  });
});
afterAll(async () => {
  await cache.close();
  await origin.close();
  await rm(folder, { recursive: true, force: true });
});

/** GETs `url`; a slow client pauses after every chunk it receives. Resolves with the body's sha256. */
function pull(
  url: string,
  options: { slow?: boolean; range?: string } = {},
): Promise<{ status: number; sha256: string; length: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = options.range ? { Range: options.range } : {};
    request(url, { headers }, (response) => {
      const hash = createHash('sha256');
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        if (options.slow) {
          response.pause();
          setTimeout(() => response.resume(), 2);
        }
      });
      response.once('end', () =>
        resolve({ status: response.statusCode ?? 0, sha256: hash.digest('hex'), length }),
      );
      response.once('error', reject);
    })
      .once('error', reject)
      .end();
  });
}

/**
 * Pulls `url` with three slow and three fast clients and a slow and a fast range pull at once;
 * expects each to get its bytes of `content`.
 */
async function expectRightBytesAtOnce(url: string, content: Buffer): Promise<void> {
  const whole = createHash('sha256').update(content).digest('hex');
  const part = createHash('sha256').update(content.subarray(1_000_000, 5_000_000)).digest('hex');
  const pulls = await Promise.all([
    ...Array.from({ length: 3 }, () => pull(url, { slow: true })),
    ...Array.from({ length: 3 }, () => pull(url)),
    pull(url, { slow: true, range: 'bytes=1000000-4999999' }),
    pull(url, { range: 'bytes=1000000-4999999' }),
  ]);
  expect(pulls.map((result) => result.status)).toEqual([200, 200, 200, 200, 200, 200, 206, 206]);
  expect(pulls.map((result) => result.sha256)).toEqual([
    ...Array.from({ length: 6 }, () => whole),
    part,
    part,
  ]);
}

describe('hits from disk', () => {
  it('reuses read memory only once a client has been sent its bytes: fast, slow and range pulls at once all get the right bytes', async () => {
    const content = randomBytes(6 * 1024 * 1024 + 4321);
    const digest = origin.add(content);
    const url = `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
    expect((await pull(url)).length).toBe(content.length);
    expect(origin.blobGets(digest)).toBe(1);
    // The first body ends once verified; the blob is on disk once the fill has committed it.
    for (let attempt = 0; attempt < 100 && !(await cache.cache.local.stat(digest)); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    recycled = 0;

    await expectRightBytesAtOnce(url, content);
    expect(origin.blobGets(digest)).toBe(1);
    expect(cache.results(digest)).toEqual(['miss', ...Array.from({ length: 8 }, () => 'hit')]);
    // Each whole pull reads six large chunks, each range pull four: most are handed back.
    expect(recycled).toBeGreaterThan(30);
  });

  it('clients far behind a fill read it back from the file into reused memory, and all get the right bytes', async () => {
    // Larger than the fill's in-memory hand-off window (8 MiB): slow clients fall behind it.
    const content = randomBytes(14 * 1024 * 1024 + 99);
    const digest = origin.add(content);
    const url = `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
    recycledBehindFill = 0;
    const whole = createHash('sha256').update(content).digest('hex');
    const pulls = await Promise.all([
      ...Array.from({ length: 3 }, () => pull(url, { slow: true })),
      ...Array.from({ length: 2 }, () => pull(url)),
    ]);
    expect(pulls.map((result) => result.sha256)).toEqual(Array.from({ length: 5 }, () => whole));
    expect(origin.blobGets(digest)).toBe(1);
    expect(recycledBehindFill).toBeGreaterThan(0);
  });
});

describe('large hits from disk with sendfile (plain HTTP)', () => {
  let own: RunningCache;
  let ownFolder: string;
  beforeAll(async () => {
    ownFolder = await mkdtemp(join(tmpdir(), 'disk-hits-sendfile-'));
    own = await startCache({ upstreams: [origin.url], driver: new CountingDriver(ownFolder) });
  });
  afterAll(async () => {
    await own.close();
    await rm(ownFolder, { recursive: true, force: true });
  });
  const descriptors = () => readdirSync('/proc/self/fd').length;

  it('send fast, slow and range pulls at once the right bytes, none read into memory, and hold no descriptor after', async () => {
    const content = randomBytes(6 * 1024 * 1024 + 4321);
    const digest = origin.add(content);
    const url = `${own.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
    expect((await pull(url)).length).toBe(content.length);
    for (let attempt = 0; attempt < 100 && !(await own.cache.local.stat(digest)); attempt += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const before = descriptors();
    recycled = 0;
    await expectRightBytesAtOnce(url, content);
    expect(own.results(digest)).toEqual(['miss', ...Array.from({ length: 8 }, () => 'hit')]);
    // Nothing was read into this process's memory: no chunk to hand back.
    expect(recycled).toBe(0);
    // The clients' kept-alive connections close; the transfers' descriptors are gone already.
    globalAgent.destroy();
    for (let attempt = 0; attempt < 50 && descriptors() > before; attempt += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(descriptors()).toBeLessThanOrEqual(before);
  });

  it('stop a transfer whose client went away mid-body, and hold no descriptor after', async () => {
    const content = randomBytes(48 * 1024 * 1024);
    const digest = origin.add(content);
    const url = `${own.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
    await pull(url);
    for (let attempt = 0; attempt < 100 && !(await own.cache.local.stat(digest)); attempt += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const before = descriptors();
    await new Promise<void>((resolve, reject) => {
      request(url, (response) => {
        response.once('data', () => {
          response.destroy();
          resolve();
        });
      })
        .once('error', reject)
        .end();
    });
    for (let attempt = 0; attempt < 50 && descriptors() > before; attempt += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(descriptors()).toBeLessThanOrEqual(before);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const line = own.logs.filter(
      (entry) => entry['msg'] === 'blob request' && entry['digest'] === digest.toString(),
    )[1];
    expect(line).toMatchObject({ cache: 'hit', complete: false });
    expect(line?.['bytes']).toBeLessThan(content.length);
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FilesystemDriver, type RecyclingReadable } from '@dtr-cache/blob-store';
import type { Digest } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

// Client source addresses of these specs (no other spec uses 127.0.4.0/24).
const CLIENT_A = '127.0.4.1';
const CLIENT_B = '127.0.4.2';
const repository = 'alice/app';

/** What the cache's read streams emitted and had handed back, in bytes, per stream. */
interface StreamCount {
  stream: Readable;
  pushed: number;
  recycled: number;
}

/** A filesystem driver that counts the bytes its read streams emit and have handed back. */
class CountingDriver extends FilesystemDriver {
  readonly streams: StreamCount[] = [];

  override async read(
    key: string,
    range?: { offset: number; length?: number },
  ): Promise<RecyclingReadable> {
    const stream = (await super.read(key, range)) as RecyclingReadable;
    const count: StreamCount = { stream, pushed: 0, recycled: 0 };
    this.streams.push(count);
    const push = stream.push.bind(stream);
    stream.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (Buffer.isBuffer(chunk)) count.pushed += chunk.length;
      return push(chunk, encoding);
    };
    const recycle = stream.recycle.bind(stream);
    stream.recycle = (chunk) => {
      count.recycled += chunk.length;
      recycle(chunk);
    };
    return stream;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a connection from `localAddress` to the cache. */
function open(url: string, localAddress: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

/** Sends a GET on `socket` and reads the answer's head and (Content-Length) body. */
function exchange(
  socket: Socket,
  path: string,
): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (data: Buffer) => {
      text += data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const headers = text.slice(0, end);
      const length = Number(/content-length: *(\d+)/i.exec(headers)?.[1] ?? 0);
      if (text.length < end + 4 + length) return;
      socket.off('data', onData);
      resolve({
        status: Number(headers.split(' ')[1]),
        headers,
        body: text.slice(end + 4, end + 4 + length),
      });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: cache\r\n\r\n`);
  });
}

/** Resolves once `socket` is closed (or ended) by its peer, with how long that took. */
function closedBy(socket: Socket, started = performance.now()): Promise<number> {
  return new Promise((resolve) => {
    const done = () => resolve(performance.now() - started);
    socket.once('close', done);
    socket.once('end', done);
    socket.once('error', done);
  });
}

describe('per-client connection limit', () => {
  let origin: StandInOrigin;
  let cache: RunningCache;

  beforeAll(async () => {
    origin = await StandInOrigin.start();
    cache = await startCache({ upstreams: [origin.url] });
  });
  afterAll(async () => {
    await cache.close();
    await origin.close();
  });

  it('answers the 257th connection of one address 429 TOOMANYREQUESTS with Retry-After, and serves another address', async () => {
    const sockets: Socket[] = [];
    try {
      for (let index = 0; index < 256; index += 1) sockets.push(await open(cache.url, CLIENT_A));
      const answers = await Promise.all(sockets.map((socket) => exchange(socket, '/v2/')));
      expect(answers.every((answer) => answer.status === 200)).toBe(true);

      const extra = await open(cache.url, CLIENT_A);
      sockets.push(extra);
      const closed = closedBy(extra);
      const refused = await exchange(extra, '/v2/');
      expect(refused.status).toBe(429);
      expect(refused.headers).toMatch(/\r\nretry-after: \d+\r\n/i);
      expect(refused.headers).toMatch(/\r\nconnection: close\r\n/i);
      expect(JSON.parse(refused.body)).toMatchObject({
        errors: [{ code: 'TOOMANYREQUESTS' }],
      });
      await closed;

      const other = await open(cache.url, CLIENT_B);
      sockets.push(other);
      expect((await exchange(other, '/v2/')).status).toBe(200);

      // One of the 256 leaves: there is room again.
      const leaving = sockets[0] as Socket;
      const left = closedBy(leaving);
      leaving.destroy();
      await left;
      await sleep(50);
      const again = await open(cache.url, CLIENT_A);
      sockets.push(again);
      expect((await exchange(again, '/v2/')).status).toBe(200);
      expect(cache.logs.some((line) => line['msg'] === 'client connection limit reached')).toBe(
        true,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});

describe('connections beyond twice the limit', () => {
  it('are closed as they are accepted, before any request', async () => {
    const origin = await StandInOrigin.start();
    const cache = await startCache({ upstreams: [origin.url], maxClientConnections: 2 });
    const sockets: Socket[] = [];
    try {
      for (let index = 0; index < 4; index += 1) sockets.push(await open(cache.url, CLIENT_A));
      const fifth = await open(cache.url, CLIENT_A);
      sockets.push(fifth);
      expect(await Promise.race([closedBy(fifth), sleep(2000).then(() => -1)])).toBeGreaterThan(-1);
      // The first four are still open: two can be served, two refused.
      const answers = await Promise.all(
        sockets.slice(0, 4).map((socket) => exchange(socket, '/v2/')),
      );
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 429, 429]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await cache.close();
      await origin.close();
    }
  });
});

for (const sendFile of [false, true]) {
  describe(`clients that stop reading (large disk hits ${sendFile ? 'with sendfile' : 'read and written'})`, () => {
    const SEND_TIMEOUT_MS = 2000;
    let origin: StandInOrigin;
    let cache: RunningCache;
    let driver: CountingDriver;
    let folder: string;
    let digest: Digest;
    let content: Buffer;

    beforeAll(async () => {
      folder = await mkdtemp(join(tmpdir(), 'client-limits-'));
      origin = await StandInOrigin.start();
      driver = new CountingDriver(folder);
      cache = await startCache({
        upstreams: [origin.url],
        driver,
        sendTimeoutMs: SEND_TIMEOUT_MS,
        sendFile,
      });
      // Larger than what the kernel's socket buffers take of a client that reads nothing (~4 MB).
      content = randomBytes(24 * 1024 * 1024);
      digest = origin.add(content);
      const response = await fetch(await url());
      expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
      // A disk hit from now on (the fill commits just after the first body ended).
      for (let attempt = 0; attempt < 100 && !(await cache.cache.local.stat(digest)); attempt += 1)
        await sleep(20);
    });
    afterAll(async () => {
      await cache.close();
      await origin.close();
      await rm(folder, { recursive: true, force: true });
    });

    async function url(): Promise<string> {
      return `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;
    }

    /** Sends a GET of the blob from a client that never reads. */
    async function stalledPull(): Promise<Socket> {
      const socket = await open(cache.url, CLIENT_A);
      socket.pause();
      socket.write(
        `GET ${new URL(await url()).pathname}${new URL(await url()).search} HTTP/1.1\r\nHost: cache\r\n\r\n`,
      );
      return socket;
    }

    if (sendFile)
      it('reads nothing into memory for a client that never reads a large disk hit', async () => {
        const before = driver.streams.length;
        const socket = await stalledPull();
        try {
          // The kernel's buffers fill, then nothing moves; the blob's stream was never read.
          await sleep(500);
          const count = driver.streams[before] as StreamCount;
          expect(count.pushed).toBe(0);
          expect(count.stream.destroyed).toBe(false);
        } finally {
          socket.destroy();
        }
      });

    if (!sendFile)
      it('holds at most one 64 KiB chunk for a client that never reads a large disk hit', async () => {
        const before = driver.streams.length;
        const socket = await stalledPull();
        try {
          // The kernel's buffers fill, then nothing moves: what the cache holds for the client is the
          // chunks its read stream emitted and did not have back (queued for the socket, read ahead).
          let held = -1;
          for (let attempt = 0; attempt < 50; attempt += 1) {
            await sleep(100);
            const count = driver.streams[before];
            if (!count) continue;
            const now = count.pushed - count.recycled;
            if (now === held && count.pushed > 0) break;
            held = now;
          }
          await sleep(300);
          const count = driver.streams[before] as StreamCount;
          expect(count.pushed).toBeGreaterThan(1024 * 1024);
          expect(count.pushed).toBeLessThan(content.length);
          expect(count.pushed - count.recycled).toBeLessThanOrEqual(64 * 1024);
          expect(count.stream.readableLength).toBe(0);
        } finally {
          socket.destroy();
        }
      });

    /** Resolves with how long it took until the cache logged a blob request timed out. */
    async function timedOut(started: number): Promise<number> {
      const known = cache.logs.length;
      for (;;) {
        if (cache.logs.slice(known).some((line) => line['sendTimeout'] === true))
          return performance.now() - started;
        await sleep(50);
      }
    }

    it('closes a response whose client stops reading after the send timeout, and lets a slow but steady one finish', async () => {
      const started = performance.now();
      const stalled = await stalledPull();
      // (A client that reads nothing sees no close either: the cache tells.)
      const closed = timedOut(started);
      const slow = new Promise<{ sha256: string; ms: number; complete: boolean }>(
        (resolve, reject) => {
          const started = performance.now();
          void url().then((target) =>
            get(target, { localAddress: CLIENT_B }, (response) => {
              const hash = createHash('sha256');
              // About 6 MB/s: 4 s for the blob, twice the send timeout.
              response.on('data', (chunk: Buffer) => {
                hash.update(chunk);
                response.pause();
                setTimeout(() => response.resume(), Math.ceil(chunk.length / 6000));
              });
              response.once('end', () =>
                resolve({
                  sha256: hash.digest('hex'),
                  ms: performance.now() - started,
                  complete: response.complete,
                }),
              );
              response.once('error', reject);
            }).once('error', reject),
          );
        },
      );
      try {
        const closedAfter = await Promise.race([closed, sleep(15_000).then(() => -1)]);
        expect(closedAfter).toBeGreaterThan(SEND_TIMEOUT_MS - 500);
        expect(closedAfter).toBeLessThan(SEND_TIMEOUT_MS + 6000);
        const done = await slow;
        expect(done.complete).toBe(true);
        expect(done.sha256).toBe(createHash('sha256').update(content).digest('hex'));
        expect(done.ms).toBeGreaterThan(SEND_TIMEOUT_MS);
        const lines = cache.logs.filter(
          (line) => line['msg'] === 'blob request' && line['digest'] === digest.toString(),
        );
        expect(lines.filter((line) => line['sendTimeout'] === true)).toEqual([
          expect.objectContaining({ complete: false, cache: 'hit' }),
        ]);
      } finally {
        stalled.destroy();
      }
    });
  });
}

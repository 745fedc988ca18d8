import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DelayRelay } from './delay-relay';
import { measureRoundTrips, measureThroughput, median, startProbeServer } from './link-probe';

/** Loopback address of this spec's servers (no other test uses it). */
const HOST = '127.0.0.72';

const started: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of started.splice(0).reverse()) await close();
});

async function probeBehindRelay(delayMs: number, bitsPerSecond?: number) {
  const server: Server = await startProbeServer(HOST, 0);
  started.push(async () => {
    server.close();
    await once(server, 'close');
  });
  const relay = await DelayRelay.start({
    listen: { host: HOST },
    target: { host: HOST, port: (server.address() as { port: number }).port },
    link: { delayMs, bitsPerSecond },
  });
  started.push(() => relay.close());
  return relay.address;
}

describe('link probes', () => {
  it('measure a round trip of at least twice the one-way delay of the link', async () => {
    const { host, port } = await probeBehindRelay(15);
    const times = await measureRoundTrips(host, port, 5);
    expect(times).toHaveLength(5);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(30);
    expect(median(times)).toBeLessThan(30 + 25);
  });

  it('measure the rate of a download near the link’s, never above it by much', async () => {
    const { host, port } = await probeBehindRelay(2, 40_000_000);
    const result = await measureThroughput(host, port, 4 * 1024 * 1024);
    expect(result.bytes).toBe(4 * 1024 * 1024);
    expect(result.mbitPerSecond).toBeGreaterThan(20);
    expect(result.mbitPerSecond).toBeLessThan(40 * 1.15);
  });

  it('fail when the download ends early', async () => {
    const short = createServer((socket) => {
      socket.resume();
      socket.end('short');
    });
    short.listen(0, HOST);
    await once(short, 'listening');
    started.push(async () => {
      short.close();
      await once(short, 'close');
    });
    const { port } = short.address() as { port: number };
    await expect(measureThroughput(HOST, port, 1000)).rejects.toThrow(/5 of 1000 bytes/);
  });

  it('take the lower middle value as the median', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([])).toBeNaN();
  });
});

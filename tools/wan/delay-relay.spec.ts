import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DelayRelay } from './delay-relay';

/** Loopback address of this spec's servers (no other test uses it). */
const HOST = '127.0.0.71';

const started: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const thing of started.splice(0).reverse()) await thing.close();
});

async function echoServer(): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
  server.listen(0, HOST);
  await once(server, 'listening');
  started.push({
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
  return server;
}

async function relayTo(server: Server, delayMs: number, bitsPerSecond?: number) {
  const address = server.address() as { port: number };
  const relay = await DelayRelay.start({
    listen: { host: HOST },
    target: { host: HOST, port: address.port },
    link: { delayMs, bitsPerSecond },
  });
  started.push(relay);
  return relay;
}

/** Sends `payload`, ends the sending side, and resolves with everything echoed back. */
async function roundTrip(socket: Socket, payload: Buffer): Promise<Buffer> {
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.end(payload);
  await once(socket, 'end');
  return Buffer.concat(received);
}

describe('DelayRelay', () => {
  it('passes 8 MiB through both directions unchanged, in order', async () => {
    const relay = await relayTo(await echoServer(), 2);
    const payload = randomBytes(8 * 1024 * 1024);
    const socket = connect(relay.address);
    await once(socket, 'connect');
    const echoed = await roundTrip(socket, payload);
    expect(echoed.length).toBe(payload.length);
    expect(createHash('sha256').update(echoed).digest('hex')).toBe(
      createHash('sha256').update(payload).digest('hex'),
    );
  });

  it('delays each direction by at least the one-way delay asked', async () => {
    const relay = await relayTo(await echoServer(), 25);
    const socket = connect(relay.address);
    await once(socket, 'connect');
    const times: number[] = [];
    for (let probe = 0; probe < 5; probe += 1) {
      const sent = performance.now();
      socket.write('x');
      await once(socket, 'data');
      times.push(performance.now() - sent);
    }
    socket.destroy();
    // A round trip crosses the link twice.
    expect(Math.min(...times)).toBeGreaterThanOrEqual(50);
  });

  it('limits the rate to the bandwidth asked', async () => {
    const relay = await relayTo(await echoServer(), 0, 20_000_000);
    const socket = connect(relay.address);
    await once(socket, 'connect');
    const payload = randomBytes(1024 * 1024);
    const sent = performance.now();
    const echoed = await roundTrip(socket, payload);
    const elapsed = performance.now() - sent;
    expect(echoed.equals(payload)).toBe(true);
    // 8 Mbit at 20 Mbit/s takes 400 ms on the way there and overlaps on the way back.
    expect(elapsed).toBeGreaterThanOrEqual(400);
  });

  it('closes the client side when the target cannot be reached', async () => {
    const relay = await DelayRelay.start({
      listen: { host: HOST },
      target: { host: HOST, port: 1 },
      link: { delayMs: 1 },
    });
    started.push(relay);
    const socket = connect(relay.address);
    socket.on('error', () => undefined);
    await once(socket, 'close');
    expect(socket.destroyed).toBe(true);
  });
});

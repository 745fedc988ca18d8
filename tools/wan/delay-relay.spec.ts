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

  it('delays each direction by itself by at least the one-way delay asked', async () => {
    // A server that records when each byte arrives and answers at once: both ends in this
    // process, so one clock times each direction alone (a round trip could hide a direction
    // delayed too little behind one delayed too much).
    const arrivals: number[] = [];
    const answeredAt: number[] = [];
    const server = createServer((socket) => {
      socket.on('data', () => {
        arrivals.push(performance.now());
        answeredAt.push(performance.now());
        socket.write('y');
      });
    });
    server.listen(0, HOST);
    await once(server, 'listening');
    started.push({
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
    const relay = await relayTo(server, 30);
    const socket = connect(relay.address);
    await once(socket, 'connect');
    const upstream: number[] = [];
    const downstream: number[] = [];
    for (let probe = 0; probe < 4; probe += 1) {
      const sent = performance.now();
      socket.write('x');
      await once(socket, 'data');
      const received = performance.now();
      upstream.push((arrivals[probe] as number) - sent);
      downstream.push(received - (answeredAt[probe] as number));
    }
    socket.destroy();
    expect(Math.min(...upstream)).toBeGreaterThanOrEqual(30);
    expect(Math.min(...downstream)).toBeGreaterThanOrEqual(30);
  });

  it('carries different bytes both ways at once, each side intact and in order', async () => {
    const toServer = randomBytes(3 * 1024 * 1024);
    const toClient = randomBytes(3 * 1024 * 1024);
    const serverReceived: Buffer[] = [];
    let serverDone: () => void = () => undefined;
    const serverEnded = new Promise<void>((resolve) => (serverDone = resolve));
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('data', (chunk: Buffer) => serverReceived.push(chunk));
      socket.on('end', () => serverDone());
      // Written in pieces of odd sizes while the client's bytes come in.
      for (let at = 0; at < toClient.length; at += 65_521)
        socket.write(toClient.subarray(at, at + 65_521));
      socket.end();
    });
    server.listen(0, HOST);
    await once(server, 'listening');
    started.push({
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
    const relay = await relayTo(server, 5, 200_000_000);
    const socket = connect(relay.address);
    await once(socket, 'connect');
    const clientReceived = await roundTrip(socket, toServer);
    await serverEnded;
    expect(clientReceived.equals(toClient)).toBe(true);
    expect(Buffer.concat(serverReceived).equals(toServer)).toBe(true);
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

  it('shares the bandwidth among the connections it carries, as one link does', async () => {
    const payload = randomBytes(1024 * 1024);
    const server = createServer((socket) => {
      socket.resume();
      socket.end(payload);
    });
    server.listen(0, HOST);
    await once(server, 'listening');
    started.push({
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
    const relay = await relayTo(server, 0, 20_000_000);
    const download = async () => {
      const socket = connect(relay.address);
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      await once(socket, 'end');
      socket.destroy();
      return Buffer.concat(received);
    };
    const sent = performance.now();
    const both = await Promise.all([download(), download()]);
    const elapsed = performance.now() - sent;
    for (const received of both) expect(received.equals(payload)).toBe(true);
    // 2 × 8 Mbit over one 20 Mbit/s link: 800 ms at least (each alone would take 400 ms).
    expect(elapsed).toBeGreaterThanOrEqual(800);
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

/**
 * Measuring a simulated link: a probe server (run where a site's server will listen, before it
 * does) and the client side that measures, through the link's relay, the round trip of one byte
 * and the rate of a bulk download. The server reads one JSON line from each connection:
 * `{"echo":true}` echoes every byte after it; `{"bytes":N}` sends N bytes and ends.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

const CHUNK = randomBytes(256 * 1024);

/** What one connection asks the probe server for. */
type ProbeRequest = { readonly echo: true } | { readonly bytes: number };

/**
 * Starts a probe server on `host`:`port`; resolves once it listens.
 * @throws Error if the address cannot be bound.
 */
export async function startProbeServer(host: string, port: number): Promise<Server> {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(0x0a);
      if (end === -1) {
        if (head.length > 1024) socket.destroy();
        return;
      }
      socket.off('data', onData);
      let request: ProbeRequest;
      try {
        request = JSON.parse(head.subarray(0, end).toString('utf8')) as ProbeRequest;
      } catch {
        socket.destroy();
        return;
      }
      const rest = head.subarray(end + 1);
      if ('echo' in request) {
        if (rest.length > 0) socket.write(rest);
        socket.pipe(socket);
      } else {
        sendBytes(socket, request.bytes);
      }
    };
    socket.on('data', onData);
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}

function sendBytes(socket: Socket, total: number): void {
  let sent = 0;
  const more = () => {
    while (sent < total) {
      const part = CHUNK.subarray(0, Math.min(CHUNK.length, total - sent));
      sent += part.length;
      if (!socket.write(part)) {
        socket.once('drain', more);
        return;
      }
    }
    socket.end();
  };
  more();
}

async function open(host: string, port: number, request: ProbeRequest): Promise<Socket> {
  const socket = connect({ host, port, noDelay: true });
  await once(socket, 'connect');
  socket.write(`${JSON.stringify(request)}\n`);
  return socket;
}

/**
 * Round trips of one byte through `host`:`port` (a relay in front of a probe server), on one
 * connection once open: `samples` of them, ms, in order.
 * @throws Error if the connection fails or closes early.
 */
export async function measureRoundTrips(
  host: string,
  port: number,
  samples: number,
): Promise<number[]> {
  const socket = await open(host, port, { echo: true });
  try {
    const times: number[] = [];
    for (let sample = 0; sample < samples; sample += 1) {
      const sent = performance.now();
      socket.write('x');
      await once(socket, 'data');
      times.push(performance.now() - sent);
    }
    return times;
  } finally {
    socket.destroy();
  }
}

/** A bulk download measured. */
export interface Throughput {
  readonly bytes: number;
  /** The rate over the second half of the bytes (after TCP's ramp and the first round trip). */
  readonly mbitPerSecond: number;
}

/**
 * Downloads `bytes` from the probe server behind `host`:`port` and measures the rate over the
 * second half of them.
 * @throws Error if fewer bytes arrive.
 */
export async function measureThroughput(
  host: string,
  port: number,
  bytes: number,
): Promise<Throughput> {
  const socket = await open(host, port, { bytes });
  const half = Math.floor(bytes / 2);
  let received = 0;
  let halfAt: number | undefined;
  let receivedAtHalf = 0;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (halfAt === undefined && received >= half) {
      halfAt = performance.now();
      receivedAtHalf = received;
    }
  });
  await once(socket, 'end');
  const endAt = performance.now();
  socket.destroy();
  if (received !== bytes || halfAt === undefined)
    throw new Error(`probe download: ${received} of ${bytes} bytes`);
  const seconds = Math.max(endAt - halfAt, 0.001) / 1000;
  return { bytes, mbitPerSecond: ((bytes - receivedAtHalf) * 8) / seconds / 1e6 };
}

/** The middle value (the lower middle for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] as number;
}

import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Digest } from '@dtr-cache/registry-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamClient } from './upstream-client';

const blob = Buffer.from('a blob of the upstream');
const digest = Digest.of(blob);

/**
 * An upstream that answers the first request of each connection, keeps the connection alive, and
 * closes it when a second request arrives on it: what a server whose idle timeout fires as the
 * client reuses the connection looks like from the client.
 */
async function closingUpstream(): Promise<{ server: Server; url: URL; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket: Socket) => {
    connections += 1;
    let requests = 0;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      while (pending.includes('\r\n\r\n')) {
        pending = pending.slice(pending.indexOf('\r\n\r\n') + 4);
        requests += 1;
        if (requests > 1) {
          socket.destroy();
          return;
        }
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Length: ${blob.length}\r\nConnection: keep-alive\r\n\r\n`,
        );
        socket.write(blob);
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { server, url: new URL(`http://127.0.0.1:${port}/`), connections: () => connections };
}

describe('UpstreamClient on kept-alive connections', () => {
  let server: Server | undefined;
  let client: UpstreamClient | undefined;
  afterEach(async () => {
    client?.close();
    server?.close();
  });

  it('sends a request again on a new connection when its kept-alive one was closed under it', async () => {
    const upstream = await closingUpstream();
    server = upstream.server;
    client = new UpstreamClient({
      hosts: [upstream.url],
      cas: [],
      connectTimeoutMs: 2000,
      stallTimeoutMs: 5000,
      failureThreshold: 3,
      cooldownMs: 30_000,
    });
    for (let pull = 0; pull < 3; pull += 1) {
      const answer = await client.getBlob('alice/app', digest, 'grant');
      const chunks: Buffer[] = [];
      for await (const chunk of answer.stream) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(blob), `pull ${pull}`).toBe(true);
    }
    // Each pull after the first met a closed connection, then got a new one.
    expect(upstream.connections()).toBe(3);
  });
});

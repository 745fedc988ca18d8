import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HttpSession } from './http-session';

describe('HttpSession on kept-alive connections', () => {
  it('sends a GET again on a new connection when its kept-alive one was closed under it', async () => {
    // Answers the first request of each connection and closes the connection on a second one:
    // a server whose idle timeout fires as the client reuses the connection.
    let connections = 0;
    const server = createServer((socket: Socket) => {
      connections += 1;
      let requests = 0;
      socket.on('data', (chunk: Buffer) => {
        requests += chunk.toString('latin1').split('\r\n\r\n').length - 1;
        if (requests > 1) socket.destroy();
        else
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
      });
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const session = new HttpSession({ timeoutMs: 5000 });
    try {
      const url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/v2/`);
      for (let request = 0; request < 3; request += 1) {
        const answer = await session.get(url);
        expect((await session.readBody(answer, 16)).toString()).toBe('ok');
      }
      expect(connections).toBe(3);
    } finally {
      session.close();
      server.close();
    }
  });
});

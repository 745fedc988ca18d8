import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in content cache for DTR's tests: it records every request, answers `/v2/` with 401 as a
 * cache does, and serves a blob request by fetching it from DTR with the same grant (a fill).
 */
export interface StandInCache {
  url: string;
  requests: Array<{ method: string; url: string }>;
  close(): Promise<void>;
}

export async function startStandInCache(dtrUrl: () => string): Promise<StandInCache> {
  const requests: StandInCache['requests'] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '' });
    if (request.url === '/v2/' || request.url === '/v2') {
      response
        .writeHead(401, { 'Content-Type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    void fetch(`${dtrUrl()}${request.url}`, { method: request.method ?? 'GET' }).then(
      async (upstream) => {
        const body = Buffer.from(await upstream.arrayBuffer());
        const headers: Record<string, string> = {};
        for (const name of ['content-type', 'docker-content-digest', 'etag']) {
          const value = upstream.headers.get(name);
          if (value) headers[name] = value;
        }
        response
          .writeHead(upstream.status, { ...headers, 'Content-Length': String(body.length) })
          .end(request.method === 'HEAD' ? undefined : body);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

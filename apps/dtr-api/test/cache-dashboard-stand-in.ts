import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BLOB_GRANT_KEYS_PATH,
  CACHE_STATS_PATH,
  type CacheStats,
  type GrantKeySet,
  RegistryError,
  verifyCacheStatsCredential,
} from '@dtr-cache/registry-protocol';

/** How the stand-in answers its stats. */
export type StatsBehaviour = 'ok' | 'error-500' | 'bad-json' | 'huge' | 'slow';

/** A stand-in content cache answering `/v2/` (health) and its stats to DTR's credential only. */
export interface StandInStatsCache {
  readonly url: string;
  behaviour: StatsBehaviour;
  /** What it answers with `ok`. */
  stats: CacheStats;
  /** Stats requests, with whether their credential was accepted. */
  readonly requests: Array<{ accepted: boolean; reason?: string }>;
  close(): Promise<void>;
}

/** Stats of a cache that served `hits` hits and `misses` misses. */
export function sampleStats(hits: number, misses: number, upstreams: string[] = []): CacheStats {
  return {
    version: '1.2.3',
    startedAt: new Date().toISOString(),
    requests: { hit: hits, miss: misses, coalesced: 0, denied: 0, error: 0 },
    bytesServed: (hits + misses) * 1000,
    bytesFetched: misses * 1000,
    fills: { committed: misses, failed: 0, inFlight: 0 },
    disk: { usedBytes: misses * 1000, limitBytes: 1_000_000, blobs: misses },
    upstreams,
  };
}

/** Starts it on a loopback port; it verifies credentials with the keys DTR at `dtrUrl()` serves. */
export async function startStandInStatsCache(dtrUrl: () => string): Promise<StandInStatsCache> {
  const requests: StandInStatsCache['requests'] = [];
  const server: Server = createServer((request, response) => {
    if (request.url === '/v2/') {
      response.writeHead(401, { 'Content-Type': 'application/json' }).end('{"errors":[]}');
      return;
    }
    if (request.url !== CACHE_STATS_PATH) {
      response.writeHead(404).end();
      return;
    }
    void (async () => {
      const keys = (await (
        await fetch(`${dtrUrl()}${BLOB_GRANT_KEYS_PATH}`)
      ).json()) as GrantKeySet;
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      try {
        await verifyCacheStatsCredential(token, keys);
      } catch (error) {
        requests.push({ accepted: false, reason: (error as { reason?: string }).reason });
        if (!(error instanceof RegistryError)) throw error;
        response.writeHead(401).end();
        return;
      }
      requests.push({ accepted: true });
      switch (stand.behaviour) {
        case 'ok':
          response.writeHead(200, { 'Content-Type': 'application/json' });
          response.end(JSON.stringify(stand.stats));
          return;
        case 'error-500':
          response.writeHead(500).end();
          return;
        case 'bad-json':
          response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"requests": 12');
          return;
        case 'huge':
          response.writeHead(200, { 'Content-Type': 'application/json' });
          response.end(`{"pad":"${'x'.repeat(1024 * 1024)}"}`);
          return;
        case 'slow':
          setTimeout(() => response.writeHead(200).end('{}'), 5000).unref();
          return;
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stand: StandInStatsCache = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    behaviour: 'ok',
    stats: sampleStats(0, 0),
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return stand;
}

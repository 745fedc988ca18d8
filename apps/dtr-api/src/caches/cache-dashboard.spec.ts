import { describe, expect, it } from 'vitest';
import type { CacheSample } from '../store/cache-stats-store';
import { cacheDashboard } from './cache-dashboard';
import { cacheTopology } from './cache-topology';

const INTERVAL = 15_000;
const cache = {
  id: 1,
  name: 'near',
  host: 'https://a.example.com',
  hosts: ['https://a.example.com', 'https://b.example.com'],
  networks: [],
  createdAt: '2026-01-01T00:00:00Z',
};

/** A sample of interval number `interval` (its slot is when that interval starts). */
function sample(host: string, interval: number, hit: number, miss: number, served: number) {
  return {
    cacheId: 1,
    host,
    slot: interval * INTERVAL,
    sampledAt: new Date(interval * INTERVAL),
    error: undefined,
    stats: {
      version: '1',
      startedAt: '2026-01-01T00:00:00Z',
      requests: { hit, miss, coalesced: 0, denied: 0, error: 0 },
      bytesServed: served,
      bytesFetched: miss * 10,
      fills: { committed: miss, failed: 0, inFlight: 1 },
      disk: { usedBytes: 100, limitBytes: 1000, blobs: 1 },
      upstreams: ['https://dtr.example.com/'],
    },
  } satisfies CacheSample;
}

const healthy = { healthy: true, checkedAt: new Date(), error: undefined };

describe('cacheDashboard', () => {
  it('adds up the members, and charts each interval’s growth (a restart counts from zero)', () => {
    const now = Math.floor(Date.now() / INTERVAL);
    const dashboard = cacheDashboard({
      cache,
      health: healthy,
      memberHealth: (host) =>
        host.startsWith('https://a')
          ? healthy
          : { healthy: false, checkedAt: new Date(), error: 'timeout' },
      samples: [
        sample('https://a.example.com', now - 2, 1, 1, 100),
        sample('https://b.example.com', now - 2, 0, 0, 0),
        sample('https://a.example.com', now - 1, 4, 1, 400),
        sample('https://b.example.com', now - 1, 1, 1, 50),
        // A restarted: its counters start again.
        sample('https://a.example.com', now, 1, 0, 30),
        { ...sample('https://b.example.com', now, 0, 0, 0), stats: undefined, error: 'HTTP 401' },
      ],
      usersBySetting: 2,
      pulls: { bySetting: 3, byNetwork: 4 },
      intervalMs: INTERVAL,
    });
    expect(dashboard.series.map((point) => [point.bytesServed, point.hitRatio])).toEqual([
      [350, 4 / 5],
      [30, 1],
    ]);
    expect(dashboard.members.map((member) => member.health.reason)).toEqual([
      'Healthy',
      'Unhealthy: timeout',
    ]);
    expect(dashboard.members[1]).toMatchObject({ sampleError: 'HTTP 401', stats: null });
    expect(dashboard.totals).toMatchObject({ bytesServed: 30, hitRatio: 1, fillsInFlight: 1 });
    expect(dashboard.pulls).toEqual({ bySetting: 3, byNetwork: 4 });
  });
});

describe('cacheTopology', () => {
  it('finds which cache pulls from which, and DTR for any other upstream', () => {
    const dashboard = (id: number, name: string, host: string, upstreams: string[]) => ({
      ...cacheDashboard({
        cache: { ...cache, id, name, host, hosts: [host] },
        health: healthy,
        memberHealth: () => healthy,
        samples: [
          {
            ...sample(host, 1, 0, 0, 0),
            cacheId: id,
            stats: { ...sample(host, 1, 0, 0, 0).stats, upstreams },
          },
        ],
        usersBySetting: 0,
        pulls: undefined,
        intervalMs: INTERVAL,
      }),
    });
    const nodes = cacheTopology([
      dashboard(1, 'region', 'https://region.example.com:5000', ['https://dtr.example.com/']),
      dashboard(2, 'edge', 'https://edge.example.com', ['https://REGION.example.com:5000/']),
      dashboard(3, 'far', 'https://far.example.com', ['https://edge.example.com/']),
    ]);
    expect(nodes.map((node) => [node.name, node.pullsFrom, node.level])).toEqual([
      ['region', ['dtr'], 1],
      ['edge', [1], 2],
      ['far', [2], 3],
    ]);
  });
});

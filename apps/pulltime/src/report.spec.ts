import type { PullTiming } from '@dtr-cache/pull-timer';
import type { CacheResult } from '@dtr-cache/registry-protocol';
import { describe, expect, it } from 'vitest';
import type { RouteResult } from './measure';
import { countBlobs, fastestRoute, reportJson, reportTable } from './report';
import { DIRECT_ROUTE } from './routes';

const timing = (
  route: string,
  totalMs: number,
  results: Array<CacheResult | 'origin'>,
): PullTiming => ({
  route,
  image: 'org/app:v1',
  startedAt: '2024-01-01T00:00:00.000Z',
  manifestMs: 10,
  firstByteMs: 25.25,
  totalMs,
  bytes: 4_000_000,
  megabytesPerSecond: 4_000_000 / 1000 / totalMs,
  blobs: results.map((result, index) => ({
    digest: `sha256:${String(index).repeat(64)}`,
    size: 1_000_000,
    servedBy: 'https://cache',
    result,
    firstByteMs: 5,
    totalMs: 20,
  })),
});
const cache = (name: string) =>
  ({ name, route: { kind: 'cache', cache: name }, cache: name, member: null }) as const;

const results: RouteResult[] = [
  {
    route: DIRECT_ROUTE,
    pulls: [
      { pass: 'cold', timing: timing('none', 800, ['origin', 'origin']) },
      { pass: 'warm', timing: timing('none', 700, ['origin', 'origin']) },
    ],
    error: null,
  },
  {
    route: cache('los-angeles'),
    pulls: [
      { pass: 'cold', timing: timing('los-angeles', 1000, ['miss', 'coalesced']) },
      { pass: 'warm', timing: timing('los-angeles', 400, ['hit', 'hit']) },
    ],
    error: null,
  },
  {
    route: cache('tokyo'),
    pulls: [],
    error: { failure: 'route', message: 'DTR refused the route "tokyo"' },
  },
];

describe('report', () => {
  it('counts the blobs of a pull per result', () => {
    expect(countBlobs(timing('x', 1, ['hit', 'miss', 'hit', 'origin', 'pass-through']))).toEqual({
      hit: 2,
      miss: 1,
      coalesced: 0,
      'pass-through': 1,
      origin: 1,
    });
  });

  it('names the fastest completed route by its warm pull', () => {
    expect(fastestRoute(results)).toEqual({
      name: 'los-angeles',
      route: 'los-angeles',
      pass: 'warm',
      totalMs: 400,
      megabytesPerSecond: 10,
    });
    expect(fastestRoute([results[2] as RouteResult])).toBeNull();
  });

  it('prints one row per pull, the failed route, and the fastest', () => {
    expect(reportTable(results).split('\n')).toEqual([
      'route        pass  total s  MB/s  first byte ms  hit  miss  coalesced  pass-through  origin',
      'direct       cold    0.800   5.0           25.3    0     0          0             0       2',
      'direct       warm    0.700   5.7           25.3    0     0          0             0       2',
      'los-angeles  cold    1.000   4.0           25.3    0     1          1             0       0',
      'los-angeles  warm    0.400  10.0           25.3    2     0          0             0       0',
      'tokyo        failed: route',
      'fastest: los-angeles (warm, 0.400 s, 10.0 MB/s)',
    ]);
  });

  it('writes the run, each route with its pulls and error, and the fastest as JSON', () => {
    const info = {
      dtr: 'https://dtr',
      user: 'alice',
      image: 'org/app:v1',
      platform: 'linux/amd64',
      concurrency: 3,
      startedAt: '2024-01-01T00:00:00.000Z',
    };
    const document = JSON.parse(JSON.stringify(reportJson(info, results)));
    expect(document).toMatchObject({ ...info, failed: 1, fastest: { name: 'los-angeles' } });
    expect(document.routes.map((route: { route: string }) => route.route)).toEqual([
      'none',
      'los-angeles',
      'tokyo',
    ]);
    expect(document.routes[1].pulls[0]).toMatchObject({
      pass: 'cold',
      counts: { hit: 0, miss: 1, coalesced: 1, 'pass-through': 0, origin: 0 },
      route: 'los-angeles',
      totalMs: 1000,
      blobs: [{ result: 'miss' }, { result: 'coalesced' }],
    });
    expect(document.routes[2]).toEqual({
      name: 'tokyo',
      route: 'tokyo',
      cache: 'tokyo',
      member: null,
      pulls: [],
      error: { failure: 'route', message: 'DTR refused the route "tokyo"' },
    });
  });
});

import { PullError, type PullOptions, type PullTiming } from '@dtr-cache/pull-timer';
import type { CacheResult } from '@dtr-cache/registry-protocol';
import { describe, expect, it } from 'vitest';
import { measureRoute } from './measure';
import { DIRECT_ROUTE } from './routes';

const target = { dtr: 'http://dtr', username: 'alice', password: 'x', image: 'org/app:v1' };
const route = {
  name: 'los-angeles',
  route: { kind: 'cache', cache: 'los-angeles' },
  cache: 'los-angeles',
  member: null,
} as const;

const timing = (results: Array<CacheResult | 'origin'>): PullTiming => ({
  route: 'los-angeles',
  image: 'org/app:v1',
  startedAt: new Date().toISOString(),
  manifestMs: 1,
  firstByteMs: 2,
  totalMs: 3,
  bytes: 10,
  megabytesPerSecond: 0.003,
  blobs: results.map((result, index) => ({
    digest: `sha256:${String(index).repeat(64)}`,
    size: 1,
    servedBy: 'http://cache',
    result,
    firstByteMs: 1,
    totalMs: 2,
  })),
});

/** A pull that answers `answers` in turn, recording the options it was given. */
function scripted(...answers: Array<PullTiming | PullError>) {
  const calls: PullOptions[] = [];
  const pull = async (_target: unknown, options: PullOptions) => {
    calls.push(options);
    const answer = answers[calls.length - 1];
    if (!answer || answer instanceof PullError) throw answer ?? new Error('no more answers');
    return answer;
  };
  return { pull, calls };
}

describe('measureRoute', () => {
  it('pulls again after a pull with misses: cold, then warm, with the route each time', async () => {
    const { pull, calls } = scripted(timing(['hit', 'miss']), timing(['hit', 'hit']));
    const result = await measureRoute(route, target, { concurrency: 3 }, pull);
    expect(result.pulls.map((measured) => measured.pass)).toEqual(['cold', 'warm']);
    expect(result.error).toBeNull();
    expect(calls).toEqual([
      { concurrency: 3, route: route.route },
      { concurrency: 3, route: route.route },
    ]);
  });

  it('pulls once when every blob was a hit: that pull is warm', async () => {
    const { pull, calls } = scripted(timing(['hit', 'hit']));
    const result = await measureRoute(route, target, {}, pull);
    expect(result.pulls.map((measured) => measured.pass)).toEqual(['warm']);
    expect(calls).toHaveLength(1);
  });

  it('pulls DTR again too (its blobs are no cache hits)', async () => {
    const { pull } = scripted(timing(['origin']), timing(['origin']));
    const result = await measureRoute(DIRECT_ROUTE, target, {}, pull);
    expect(result.pulls.map((measured) => measured.pass)).toEqual(['cold', 'warm']);
  });

  it('keeps the pulls that worked and the failure, without throwing', async () => {
    const { pull } = scripted(
      timing(['miss']),
      new PullError('unreachable', 'https://cache is unreachable: connect ECONNREFUSED'),
    );
    const result = await measureRoute(route, target, {}, pull);
    expect(result.pulls.map((measured) => measured.pass)).toEqual(['cold']);
    expect(result.error).toEqual({
      failure: 'unreachable',
      message: 'https://cache is unreachable: connect ECONNREFUSED',
    });
  });
});

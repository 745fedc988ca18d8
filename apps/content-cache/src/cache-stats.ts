import type { CacheRequestCounts, CacheStats } from '@dtr-cache/registry-protocol';
import cachePackage from '../package.json';
import type { CacheMetrics } from './cache-metrics';

/** The program's version, as its stats answer names it. */
export const CACHE_VERSION: string = cachePackage.version;

/** What one process counted since it started: the summable part of {@link CacheStats}. */
export interface StatsCounters {
  readonly requests: CacheRequestCounts;
  readonly bytesServed: number;
  readonly bytesFetched: number;
  readonly fills: { readonly committed: number; readonly failed: number };
}

/** Counters that counted nothing yet. */
export const NO_COUNTS: StatsCounters = {
  requests: { hit: 0, miss: 0, coalesced: 0, denied: 0, error: 0 },
  bytesServed: 0,
  bytesFetched: 0,
  fills: { committed: 0, failed: 0 },
};

/** What the stats answer says about the store and the configuration (not counted per process). */
export interface StatsFacts {
  readonly startedAt: Date;
  readonly fillsInFlight: number;
  /** Bytes and blobs stored, where expiry tracks them (undefined: not tracked). */
  readonly stored: { readonly bytes: number; readonly blobs: number } | undefined;
  /** `maxsize`, if any. */
  readonly limitBytes: number | undefined;
  readonly upstreams: readonly string[];
}

type Outcome = keyof CacheRequestCounts;
const OUTCOMES: readonly Outcome[] = ['hit', 'miss', 'coalesced', 'denied', 'error'];

/** This process's counters, read from its Prometheus metrics. */
export async function countersOf(metrics: CacheMetrics): Promise<StatsCounters> {
  const requests = { hit: 0, miss: 0, coalesced: 0, denied: 0, error: 0 };
  for (const { value, labels } of (await metrics.requests.get()).values) {
    const result = String(labels['result']) as Outcome;
    if (OUTCOMES.includes(result)) requests[result] += value;
  }
  const sum = async (counter: CacheMetrics['bytesServed']) =>
    (await counter.get()).values.reduce((total, { value }) => total + value, 0);
  const fills = { committed: 0, failed: 0 };
  for (const { value, labels } of (await metrics.fills.get()).values) {
    if (labels['outcome'] === 'committed') fills.committed += value;
    else if (labels['outcome'] === 'failed') fills.failed += value;
  }
  return {
    requests,
    bytesServed: await sum(metrics.bytesServed),
    bytesFetched: await sum(metrics.bytesFetched),
    fills,
  };
}

/** The sum of several processes' counters. */
export function sumCounters(all: readonly StatsCounters[]): StatsCounters {
  return all.reduce<StatsCounters>(
    (total, one) => ({
      requests: {
        hit: total.requests.hit + one.requests.hit,
        miss: total.requests.miss + one.requests.miss,
        coalesced: total.requests.coalesced + one.requests.coalesced,
        denied: total.requests.denied + one.requests.denied,
        error: total.requests.error + one.requests.error,
      },
      bytesServed: total.bytesServed + one.bytesServed,
      bytesFetched: total.bytesFetched + one.bytesFetched,
      fills: {
        committed: total.fills.committed + one.fills.committed,
        failed: total.fills.failed + one.fills.failed,
      },
    }),
    NO_COUNTS,
  );
}

/** The stats answer from the counters and the facts. */
export function statsAnswer(counters: StatsCounters, facts: StatsFacts): CacheStats {
  return {
    version: CACHE_VERSION,
    startedAt: facts.startedAt.toISOString(),
    requests: counters.requests,
    bytesServed: Math.round(counters.bytesServed),
    bytesFetched: Math.round(counters.bytesFetched),
    fills: { ...counters.fills, inFlight: facts.fillsInFlight },
    disk: {
      usedBytes: facts.stored?.bytes ?? null,
      limitBytes: facts.limitBytes ?? null,
      blobs: facts.stored?.blobs ?? null,
    },
    upstreams: facts.upstreams,
  };
}

/**
 * The counters of a cache's workers, as each last reported them (every second), plus those of
 * workers that exited: the primary's sum never goes back when a worker is replaced.
 */
export class WorkerCounters {
  private readonly latest = new Map<number, StatsCounters>();
  private retired: StatsCounters = NO_COUNTS;

  /** Worker `id` reports what it counted since it started. */
  report(id: number, counters: StatsCounters): void {
    this.latest.set(id, counters);
  }

  /** Worker `id` is gone: its last report is kept in the total. */
  exited(id: number): void {
    const last = this.latest.get(id);
    if (last) this.retired = sumCounters([this.retired, last]);
    this.latest.delete(id);
  }

  /** All workers' counters together. */
  total(): StatsCounters {
    return sumCounters([this.retired, ...this.latest.values()]);
  }
}

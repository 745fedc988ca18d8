import type { CacheStats } from '@dtr-cache/registry-protocol';
import type { CacheSample, PullCount } from '../store/cache-stats-store';
import type { ContentCache } from '../store/content-cache-store';
import type { CacheHealth } from './cache-health-monitor';

/** A health check as the dashboard shows it: a status and its reason in words. */
export interface DashboardHealth {
  readonly status: 'healthy' | 'unhealthy' | 'unknown';
  /** Plain text: "Healthy", "Unhealthy: timeout", "Not checked yet". */
  readonly reason: string;
  /** When it was checked last (ISO 8601); null before the first check. */
  readonly checkedAt: string | null;
}

/** One member of a cache on the dashboard: its health and latest sample. */
export interface MemberDashboard {
  readonly host: string;
  readonly health: DashboardHealth;
  /** When its latest sample was taken (ISO 8601); null before the first one. */
  readonly sampledAt: string | null;
  /** Why its latest sample failed; null when it succeeded (or none was taken). */
  readonly sampleError: string | null;
  /** Its latest stats; null if none was read. */
  readonly stats: CacheStats | null;
  /** Hits among blob requests served (hit, miss, coalesced) since it started; null: none yet. */
  readonly hitRatio: number | null;
}

/** One interval of the last hour, all members together. */
export interface DashboardPoint {
  /** The interval's start (ISO 8601). */
  readonly at: string;
  /** Bytes served in the interval. */
  readonly bytesServed: number;
  /** Bytes fetched from upstream in the interval. */
  readonly bytesFetched: number;
  /** Hits among the requests of the interval; null without requests. */
  readonly hitRatio: number | null;
}

/** What the dashboard shows of one cache (the JSON of `/api/v0/content_caches/{id}/stats`). */
export interface CacheDashboard {
  readonly id: number;
  readonly name: string;
  readonly health: DashboardHealth;
  /** Seconds between samples (`contentcaches.sampling.interval`). */
  readonly intervalSeconds: number;
  /** Users whose setting names this cache. */
  readonly usersBySetting: number;
  /** Blob pulls sent here since it was registered, by the users' setting and by network match. */
  readonly pulls: PullCount;
  readonly members: readonly MemberDashboard[];
  /** The members' latest stats added up. */
  readonly totals: {
    readonly hitRatio: number | null;
    readonly bytesServed: number;
    readonly bytesFetched: number;
    readonly diskUsedBytes: number | null;
    readonly diskLimitBytes: number | null;
    readonly fillsInFlight: number;
  };
  /** The last hour, one point per interval with samples, oldest first. */
  readonly series: readonly DashboardPoint[];
}

/** What {@link cacheDashboard} is built from. */
export interface DashboardInputs {
  readonly cache: ContentCache;
  readonly health: CacheHealth;
  readonly memberHealth: (host: string) => CacheHealth;
  /** The cache's samples of the last hour (and one interval before), oldest first. */
  readonly samples: readonly CacheSample[];
  readonly usersBySetting: number;
  readonly pulls: PullCount | undefined;
  readonly intervalMs: number;
}

/** A health check in words: "Healthy", "Unhealthy: timeout", "Not checked yet". */
export function dashboardHealth(health: CacheHealth): DashboardHealth {
  const checkedAt = health.checkedAt?.toISOString() ?? null;
  if (health.healthy === undefined)
    return { status: 'unknown', reason: 'Not checked yet', checkedAt };
  if (health.healthy) return { status: 'healthy', reason: 'Healthy', checkedAt };
  return { status: 'unhealthy', reason: `Unhealthy: ${health.error ?? 'no answer'}`, checkedAt };
}

/** Hits among hits, misses and coalesced requests; null without any. */
export function hitRatioOf(requests: CacheStats['requests']): number | null {
  const served = requests.hit + requests.miss + requests.coalesced;
  return served === 0 ? null : requests.hit / served;
}

/** A counter's growth between two samples; a cache restarted meanwhile counts from zero. */
function growth(before: number | undefined, after: number): number {
  return before === undefined || after < before ? after : after - before;
}

/**
 * The series of the last hour: per interval, the growth of every member's counters since its
 * previous successful sample, added up.
 */
function seriesOf(samples: readonly CacheSample[], intervalMs: number): DashboardPoint[] {
  const previous = new Map<string, CacheStats>();
  const points = new Map<number, { served: number; fetched: number; hits: number; all: number }>();
  const since = Math.floor((Date.now() - 3_600_000) / intervalMs) * intervalMs;
  for (const sample of samples) {
    if (!sample.stats) continue;
    const before = previous.get(sample.host);
    previous.set(sample.host, sample.stats);
    if (before === undefined || sample.slot < since) continue;
    const point = points.get(sample.slot) ?? { served: 0, fetched: 0, hits: 0, all: 0 };
    const requests = (stats: CacheStats) =>
      stats.requests.hit + stats.requests.miss + stats.requests.coalesced;
    point.served += growth(before.bytesServed, sample.stats.bytesServed);
    point.fetched += growth(before.bytesFetched, sample.stats.bytesFetched);
    point.hits += growth(before.requests.hit, sample.stats.requests.hit);
    point.all += growth(requests(before), requests(sample.stats));
    points.set(sample.slot, point);
  }
  return [...points.entries()]
    .sort(([a], [b]) => a - b)
    .map(([slot, point]) => ({
      at: new Date(slot).toISOString(),
      bytesServed: point.served,
      bytesFetched: point.fetched,
      hitRatio: point.all === 0 ? null : Math.min(1, point.hits / point.all),
    }));
}

/** The dashboard of one cache from its samples, health checks and counts. */
export function cacheDashboard(inputs: DashboardInputs): CacheDashboard {
  const { cache, samples } = inputs;
  const latest = new Map<string, CacheSample>();
  for (const sample of samples)
    if (cache.hosts.includes(sample.host)) latest.set(sample.host, sample);
  const members = cache.hosts.map((host): MemberDashboard => {
    const sample = latest.get(host);
    const stats = sample?.stats ?? null;
    return {
      host,
      health: dashboardHealth(inputs.memberHealth(host)),
      sampledAt: sample?.sampledAt.toISOString() ?? null,
      sampleError: sample?.error ?? null,
      stats,
      hitRatio: stats ? hitRatioOf(stats.requests) : null,
    };
  });
  const read = members.flatMap((member) => (member.stats ? [member.stats] : []));
  const sum = (pick: (stats: CacheStats) => number) =>
    read.reduce((total, stats) => total + pick(stats), 0);
  const disk = (pick: (stats: CacheStats) => number | null) =>
    read.length > 0 && read.every((stats) => pick(stats) !== null)
      ? sum((stats) => pick(stats) ?? 0)
      : null;
  return {
    id: cache.id,
    name: cache.name,
    health: dashboardHealth(inputs.health),
    intervalSeconds: inputs.intervalMs / 1000,
    usersBySetting: inputs.usersBySetting,
    pulls: inputs.pulls ?? { bySetting: 0, byNetwork: 0 },
    members,
    totals: {
      hitRatio: hitRatioOf({
        hit: sum((stats) => stats.requests.hit),
        miss: sum((stats) => stats.requests.miss),
        coalesced: sum((stats) => stats.requests.coalesced),
        denied: 0,
        error: 0,
      }),
      bytesServed: sum((stats) => stats.bytesServed),
      bytesFetched: sum((stats) => stats.bytesFetched),
      diskUsedBytes: disk((stats) => stats.disk.usedBytes),
      diskLimitBytes: disk((stats) => stats.disk.limitBytes),
      fillsInFlight: sum((stats) => stats.fills.inFlight),
    },
    series: seriesOf(samples, inputs.intervalMs),
  };
}

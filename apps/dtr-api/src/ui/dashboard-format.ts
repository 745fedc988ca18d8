import { formatBytes } from './format';
import type { CacheDashboard } from '../caches/cache-dashboard';

/** Bytes as {@link formatBytes} writes them, or "not tracked" for a count the cache does not keep. */
export function formatTrackedBytes(bytes: number | null): string {
  return bytes === null ? 'not tracked' : formatBytes(bytes);
}

/** A ratio as a percentage, "–" for none. */
export function formatRatio(ratio: number | null): string {
  return ratio === null ? '–' : `${(ratio * 100).toFixed(1)} %`;
}

/** Disk used of its limit: "1.2 GiB of 10.0 GiB", "1.2 GiB (no limit)". */
export function formatDisk(used: number | null, limit: number | null): string {
  if (used === null) return 'not tracked';
  return limit === null
    ? `${formatTrackedBytes(used)} (no limit)`
    : `${formatTrackedBytes(used)} of ${formatTrackedBytes(limit)}`;
}

/** A member's numbers in words, as the dashboard shows them. */
export interface MemberDisplay {
  readonly health: string;
  readonly status: string;
  readonly hitRatio: string;
  readonly bytesServed: string;
  readonly bytesFetched: string;
  readonly disk: string;
  readonly fills: string;
  /** When it was sampled last, or why the last sample failed. */
  readonly sample: string;
}

/** A cache's dashboard in words: what the page shows and its live script puts in place. */
export interface DashboardDisplay {
  readonly health: string;
  readonly status: string;
  readonly hitRatio: string;
  readonly bytesServed: string;
  readonly bytesFetched: string;
  readonly disk: string;
  readonly fills: string;
  readonly users: string;
  readonly pulls: string;
  readonly members: readonly MemberDisplay[];
}

/** Everything in words, for the page and for the JSON its script reads. */
export function dashboardDisplay(dashboard: CacheDashboard): DashboardDisplay {
  const { totals } = dashboard;
  // No member answered yet: nothing is known (not zero).
  const read = dashboard.members.some((member) => member.stats !== null);
  return {
    health: dashboard.health.reason,
    status: dashboard.health.status,
    hitRatio: formatRatio(totals.hitRatio),
    bytesServed: read ? formatBytes(totals.bytesServed) : '–',
    bytesFetched: read ? formatBytes(totals.bytesFetched) : '–',
    disk: read ? formatDisk(totals.diskUsedBytes, totals.diskLimitBytes) : '–',
    fills: read ? String(totals.fillsInFlight) : '–',
    users: String(dashboard.usersBySetting),
    pulls: `${dashboard.pulls.byNetwork} by network, ${dashboard.pulls.bySetting} by setting`,
    members: dashboard.members.map((member) => ({
      health: member.health.reason,
      status: member.health.status,
      hitRatio: formatRatio(member.hitRatio),
      bytesServed: member.stats ? formatBytes(member.stats.bytesServed) : '–',
      bytesFetched: member.stats ? formatBytes(member.stats.bytesFetched) : '–',
      disk: member.stats
        ? formatDisk(member.stats.disk.usedBytes, member.stats.disk.limitBytes)
        : '–',
      fills: member.stats ? String(member.stats.fills.inFlight) : '–',
      sample:
        member.sampledAt === null
          ? 'not sampled yet'
          : member.sampleError !== null
            ? `stats not read: ${member.sampleError}`
            : `sampled ${member.sampledAt.slice(11, 19)} UTC`,
    })),
  };
}

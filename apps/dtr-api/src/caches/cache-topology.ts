import type { CacheDashboard } from './cache-dashboard';

/** One cache in the topology: its name, health and what it pulls from. */
export interface TopologyNode {
  readonly id: number;
  readonly name: string;
  readonly status: CacheDashboard['health']['status'];
  /** The caches (by id) it pulls from; `dtr`: it pulls from DTR (or an upstream not registered). */
  readonly pullsFrom: ReadonlyArray<number | 'dtr'>;
  /** 1 for a cache that pulls from DTR, 2 for one that pulls from such a cache, and so on. */
  readonly level: number;
}

/** A URL as compared with cache hosts: its origin and path without trailing slashes. */
function normalized(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host.toLowerCase()}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

/**
 * Which cache pulls from which, from the upstreams each cache's members reported, matched to the
 * registered caches' hosts; an upstream that is no registered cache is DTR. A cache whose members
 * were never read is shown pulling from DTR. Levels follow the chains (a cycle is cut).
 */
export function cacheTopology(dashboards: readonly CacheDashboard[]): TopologyNode[] {
  const byHost = new Map<string, number>();
  for (const dashboard of dashboards)
    for (const member of dashboard.members) {
      const key = normalized(member.host);
      if (key) byHost.set(key, dashboard.id);
    }
  const pullsFrom = new Map<number, Array<number | 'dtr'>>();
  for (const dashboard of dashboards) {
    const targets = new Set<number | 'dtr'>();
    for (const member of dashboard.members)
      for (const upstream of member.stats?.upstreams ?? []) {
        const key = normalized(upstream);
        const cache = key === undefined ? undefined : byHost.get(key);
        targets.add(cache !== undefined && cache !== dashboard.id ? cache : 'dtr');
      }
    if (targets.size === 0) targets.add('dtr');
    pullsFrom.set(dashboard.id, [...targets]);
  }
  const levels = new Map<number, number>();
  const levelOf = (id: number, seen: Set<number>): number => {
    const known = levels.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 1;
    seen.add(id);
    const level = Math.max(
      ...(pullsFrom.get(id) ?? ['dtr']).map((target) =>
        target === 'dtr' ? 1 : levelOf(target, seen) + 1,
      ),
    );
    levels.set(id, level);
    return level;
  };
  return dashboards.map((dashboard) => ({
    id: dashboard.id,
    name: dashboard.name,
    status: dashboard.health.status,
    pullsFrom: pullsFrom.get(dashboard.id) ?? ['dtr'],
    level: levelOf(dashboard.id, new Set()),
  }));
}

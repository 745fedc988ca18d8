import type { DtrServices } from '../services';
import type { ContentCache } from '../store/content-cache-store';
import { type CacheDashboard, cacheDashboard } from './cache-dashboard';

/**
 * The dashboards of `caches` from the database: their samples of the last hour (plus the interval
 * before, to tell the first interval's growth), users by setting and pull counts, with their
 * health as this replica judges it now. Three queries, whatever the number of caches.
 */
export async function loadCacheDashboards(
  services: Pick<DtrServices, 'cacheStats' | 'cacheHealth'>,
  caches: readonly ContentCache[],
): Promise<CacheDashboard[]> {
  const sampler = services.cacheStats;
  const intervalMs = sampler.options.intervalMs;
  const since = sampler.slotOf(Date.now() - 3_600_000) - intervalMs;
  const only = caches.length === 1 ? caches[0]?.id : undefined;
  const [samples, users, pulls] = await Promise.all([
    sampler.store.samples(since, only),
    sampler.store.usersByCache(),
    sampler.store.pulls(),
  ]);
  return caches.map((cache) =>
    cacheDashboard({
      cache,
      health: services.cacheHealth.status(cache),
      memberHealth: (host) => services.cacheHealth.memberStatus(cache, host),
      samples: samples.filter((sample) => sample.cacheId === cache.id),
      usersBySetting: users.get(cache.id) ?? 0,
      pulls: pulls.get(cache.id),
      intervalMs,
    }),
  );
}

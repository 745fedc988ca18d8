import type { CacheRoute } from '@dtr-cache/registry-protocol';
import type { RegisteredCache } from './cache-list';
import { badArgument } from './cli-error';

/** One way to pull the image, as the report names it. */
export interface PullRoute {
  /** `direct`, the cache's name, or `<cache> <member URL>`. */
  readonly name: string;
  readonly route: CacheRoute;
  readonly cache: string | null;
  readonly member: string | null;
}

/** The route straight from DTR, always measured first. */
export const DIRECT_ROUTE: PullRoute = {
  name: 'direct',
  route: { kind: 'none' },
  cache: null,
  member: null,
};

/**
 * The routes to measure: direct, then each cache of `selected` (every registered cache when
 * empty) in that order; with `members`, one route per member of a group (a cache of several
 * members) instead of the group.
 * @throws CliError (exit 2) for a name no cache has, listing the registered ones.
 */
export function buildRoutes(
  registered: readonly RegisteredCache[],
  selected: readonly string[],
  members: boolean,
): PullRoute[] {
  const names =
    selected.length > 0 ? [...new Set(selected)] : registered.map((cache) => cache.name);
  const routes: PullRoute[] = [DIRECT_ROUTE];
  for (const name of names) {
    const cache = registered.find((candidate) => candidate.name === name);
    if (!cache) {
      const known = registered.map((candidate) => candidate.name).join(', ');
      throw badArgument(`no cache named ${name} (registered: ${known === '' ? 'none' : known})`);
    }
    if (members && cache.members.length > 1) {
      for (const member of cache.members)
        routes.push({
          name: `${name} ${member}`,
          route: { kind: 'cache', cache: name, member },
          cache: name,
          member,
        });
    } else {
      routes.push({ name, route: { kind: 'cache', cache: name }, cache: name, member: null });
    }
  }
  return routes;
}

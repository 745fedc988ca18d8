import type Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { loadCacheDashboards } from '../caches/cache-dashboard-data';
import type { CacheHealth } from '../caches/cache-health-monitor';
import { cacheTopology, type TopologyNode } from '../caches/cache-topology';
import { type CacheDashboardJson, cacheDashboardJson } from '../ui/dashboard-live';
import { pullDestination } from '../caches/pull-destination';
import { readJsonObject } from '../read-body';
import { clientOf } from '../request-context';
import { cacheHosts, cacheNetworks } from './content-cache-input';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import type { ContentCache } from '../store/content-cache-store';

function signedInUser(ctx: Context): Account {
  const { principal } = authenticationOf(ctx);
  if (principal.kind !== 'user') {
    throw new RegistryError('UNAUTHORIZED', 'sign in first', {
      headers: { 'WWW-Authenticate': 'Basic realm="dtr"' },
    });
  }
  return principal.account;
}

/** A health check as the API shows it. */
function healthJson(health: CacheHealth) {
  return {
    status:
      health.healthy === undefined
        ? ('unknown' as const)
        : health.healthy
          ? ('healthy' as const)
          : ('unhealthy' as const),
    checkedAt: health.checkedAt?.toISOString() ?? null,
    error: health.error ?? null,
  };
}

/**
 * A cache (group) as the API shows it: `host` (its first member, the documented field), `hosts`,
 * each member's last health check, its networks, and its health as a whole (healthy while any
 * member is).
 */
export function cacheJson(services: DtrServices, cache: ContentCache) {
  return {
    id: cache.id,
    name: cache.name,
    host: cache.host,
    hosts: cache.hosts,
    networks: cache.networks,
    createdAt: cache.createdAt,
    health: healthJson(services.cacheHealth.status(cache)),
    members: cache.hosts.map((host) => ({
      host,
      health: healthJson(services.cacheHealth.memberStatus(cache, host)),
    })),
  };
}

export async function cacheById(
  services: DtrServices,
  id: string | undefined,
): Promise<ContentCache> {
  const cache = /^\d{1,15}$/.test(id ?? '') ? await services.caches.find(Number(id)) : undefined;
  if (!cache) throw new RegistryError('NOT_FOUND', 'no such content cache', { detail: { id } });
  return cache;
}

/**
 * The live dashboard of one cache (administrators only; the caller checks): its members' latest
 * stats, health in words, users by setting, pulls by network, the last hour's series and chart.
 * @throws RegistryError `NOT_FOUND`.
 */
export async function contentCacheDashboard(
  services: DtrServices,
  id: string | undefined,
): Promise<CacheDashboardJson & { networks: readonly string[] }> {
  const cache = await cacheById(services, id);
  const [dashboard] = await loadCacheDashboards(services, [cache]);
  return {
    ...cacheDashboardJson(dashboard as NonNullable<typeof dashboard>),
    networks: cache.networks,
  };
}

/** Every cache's dashboard and the topology (administrators only; the caller checks). */
export async function contentCacheDashboards(
  services: DtrServices,
): Promise<{ dashboards: CacheDashboardJson[]; topology: TopologyNode[] }> {
  const dashboards = await loadCacheDashboards(services, await services.caches.list());
  return { dashboards: dashboards.map(cacheDashboardJson), topology: cacheTopology(dashboards) };
}

/**
 * Registers a content cache (administrators only; the caller checks) and starts checking it.
 * @throws RegistryError `INVALID_REQUEST` for a bad name or host, `CONFLICT` for a taken name.
 */
export async function registerContentCache(
  services: DtrServices,
  input: Record<string, unknown>,
): Promise<ContentCache> {
  if (typeof input['name'] !== 'string')
    throw new RegistryError('INVALID_REQUEST', 'name is required');
  const cache = await services.caches.create(
    input['name'],
    cacheHosts(services.cacheAddresses, input),
    input['networks'] === undefined ? [] : cacheNetworks(input['networks']),
  );
  services.cacheNetworks.invalidate();
  void services.cacheHealth.check(cache);
  return cache;
}

/**
 * Changes a cache's members (`hosts` or `host`: the whole new list, so members are added and
 * removed) and/or its `networks` (administrators only; the caller checks). New members are
 * checked at once; until then they get no blobs.
 * @throws RegistryError `NOT_FOUND`; `INVALID_REQUEST` for a bad member or network, or nothing
 *   to change.
 */
export async function updateContentCache(
  services: DtrServices,
  id: string | undefined,
  input: Record<string, unknown>,
): Promise<ContentCache> {
  const cache = await cacheById(services, id);
  const change: { hosts?: string[]; networks?: string[] } = {};
  if (input['host'] !== undefined || input['hosts'] !== undefined)
    change.hosts = cacheHosts(services.cacheAddresses, input);
  if (input['networks'] !== undefined) change.networks = cacheNetworks(input['networks']);
  const unknown = Object.keys(input).filter((key) => !['host', 'hosts', 'networks'].includes(key));
  if (unknown.length > 0 || Object.keys(change).length === 0)
    throw new RegistryError('INVALID_REQUEST', 'change hosts (or host) and/or networks', {
      detail: { unknown },
    });
  const updated = await services.caches.update(cache.id, change);
  if (!updated) throw new RegistryError('NOT_FOUND', 'no such content cache', { detail: { id } });
  services.cacheNetworks.invalidate();
  services.cacheHealth.forget({
    id: cache.id,
    hosts: cache.hosts.filter((host) => !updated.hosts.includes(host)),
  });
  await Promise.all(
    updated.hosts
      .filter((host) => !cache.hosts.includes(host))
      .map((host) => services.cacheHealth.checkMember(updated, host)),
  );
  return updated;
}

/**
 * Removes a content cache by id (it is cleared from every user's settings).
 * @throws RegistryError `NOT_FOUND`.
 */
export async function deleteContentCache(
  services: DtrServices,
  id: string | undefined,
): Promise<ContentCache> {
  const cache = await cacheById(services, id);
  await services.caches.delete(cache.id);
  services.cacheHealth.forget(cache);
  services.cacheNetworks.invalidate();
  return cache;
}

/**
 * Sets the content cache `account` pulls blobs through: a cache name, `""` (or null) for none
 * (pull straight from DTR), or with `choice: "automatic"` the cache of the client's network.
 * @throws RegistryError `INVALID_REQUEST` for anything else or an unknown name.
 */
export async function chooseContentCache(
  services: DtrServices,
  account: Account,
  name: unknown,
  choice?: unknown,
): Promise<void> {
  if (choice !== undefined) {
    if (choice !== 'automatic' || name !== undefined)
      throw new RegistryError(
        'INVALID_REQUEST',
        'contentCacheChoice can only be "automatic" (the cache of your network), without contentCache',
      );
    await services.caches.setChoice(account, 'automatic');
    return;
  }
  if (name !== null && typeof name !== 'string') {
    throw new RegistryError(
      'INVALID_REQUEST',
      'contentCache must be a cache name, or "" for no cache',
    );
  }
  if (name === null || name === '') {
    await services.caches.setChoice(account, 'none');
    return;
  }
  const cache = await services.caches.findByName(name);
  if (!cache) {
    throw new RegistryError('INVALID_REQUEST', `there is no content cache named "${name}"`, {
      detail: {
        contentCache: name,
        known: (await services.caches.list()).map((known) => known.name),
      },
    });
  }
  await services.caches.setChoice(account, cache);
}

/**
 * Where a user's blob pulls go now, and why: the cache they chose (`chosen`), the cache of the
 * network `clientAddress` is in (`network`), or none (`none`: they chose no cache; `no-network`:
 * no setting and no cache serves that network); with the cache's health as a whole.
 */
export async function effectiveCache(
  services: DtrServices,
  account: Account,
  clientAddress: string,
) {
  const { choice, cache, reason } = await pullDestination(
    services.caches,
    services.cacheNetworks,
    account,
    clientAddress,
  );
  return {
    choice,
    cache: cache ?? null,
    reason,
    healthy: cache ? services.cacheHealth.status(cache).healthy === true : null,
  };
}

/**
 * `/api/v0/content_caches` (administrators change, signed-in users read) and
 * `/api/v0/accounts/{username}/settings` (the user's content cache; users change their own,
 * administrators anyone's).
 */
export function contentCacheRoutes(router: Router, services: DtrServices): void {
  router.get('/content_caches', async (ctx) => {
    signedInUser(ctx);
    ctx.body = {
      contentCaches: (await services.caches.list()).map((cache) => cacheJson(services, cache)),
    };
  });

  router.post('/content_caches', async (ctx) => {
    if (!signedInUser(ctx).isAdmin) throw new RegistryError('DENIED', 'administrators only');
    const body = await readJsonObject(ctx);
    const cache = await registerContentCache(services, body);
    ctx.status = 201;
    ctx.set('Location', `/api/v0/content_caches/${cache.id}`);
    ctx.body = cacheJson(services, cache);
  });

  router.get('/content_caches/:id', async (ctx) => {
    signedInUser(ctx);
    ctx.body = cacheJson(services, await cacheById(services, ctx.params['id']));
  });

  router.get('/content_caches/:id/stats', async (ctx) => {
    if (!signedInUser(ctx).isAdmin) throw new RegistryError('DENIED', 'administrators only');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await contentCacheDashboard(services, ctx.params['id']);
  });

  router.patch('/content_caches/:id', async (ctx) => {
    if (!signedInUser(ctx).isAdmin) throw new RegistryError('DENIED', 'administrators only');
    const body = await readJsonObject(ctx);
    ctx.body = cacheJson(services, await updateContentCache(services, ctx.params['id'], body));
  });

  router.delete('/content_caches/:id', async (ctx) => {
    if (!signedInUser(ctx).isAdmin) throw new RegistryError('DENIED', 'administrators only');
    await deleteContentCache(services, ctx.params['id']);
    ctx.status = 204;
  });

  const settingsOwner = async (ctx: Context): Promise<Account> => {
    const caller = signedInUser(ctx);
    const name = ctx.params['username'] as string;
    if (caller.name !== name && !caller.isAdmin)
      throw new RegistryError('DENIED', 'you may change only your own settings');
    const account = await services.accounts.find(name);
    if (!account || account.kind !== 'user')
      throw new RegistryError('NOT_FOUND', 'no such user', { detail: { name } });
    return account;
  };

  const settingsJson = async (ctx: Context, account: Account) => {
    const effective = await effectiveCache(services, account, clientOf(ctx));
    return {
      contentCache: effective.choice === 'cache' ? (effective.cache?.name ?? '') : '',
      contentCacheChoice: effective.choice,
      pullsGoTo: {
        contentCache: effective.cache?.name ?? null,
        reason: effective.reason,
        healthy: effective.healthy,
      },
    };
  };

  router.get('/accounts/:username/settings', async (ctx) => {
    ctx.body = await settingsJson(ctx, await settingsOwner(ctx));
  });

  router.patch('/accounts/:username/settings', async (ctx) => {
    const account = await settingsOwner(ctx);
    const body = await readJsonObject(ctx);
    if (!('contentCache' in body) && !('contentCacheChoice' in body))
      throw new RegistryError(
        'INVALID_REQUEST',
        'contentCache is required (a cache name, or "" for no cache), or contentCacheChoice: "automatic"',
      );
    await chooseContentCache(services, account, body['contentCache'], body['contentCacheChoice']);
    ctx.body = await settingsJson(ctx, account);
  });
}

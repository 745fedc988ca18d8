import type { Context } from 'koa';
import {
  type CacheRoute,
  type Digest,
  formatAccessScope,
  Headers,
  parseCacheRoute,
  RegistryError,
  rendezvousRank,
} from '@dtr-cache/registry-protocol';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import type { ContentCache } from '../store/content-cache-store';
import type { Repository } from '../store/repository-store';
import { grantedBlobUrl } from './granted-blob-url';

/**
 * The longest `X-Content-Cache-Route` value read: a cache name (64) and a member URL fit many
 * times over. A longer value is refused without being parsed or echoed back.
 */
export const MAX_CACHE_ROUTE_LENGTH = 2048;

const ROUTE_HEADER = Headers.contentCacheRoute.toLowerCase();

/**
 * The route a blob request asks for in `X-Content-Cache-Route`, or undefined when it has no such
 * header. A header sent twice is one value joined by commas, which is no valid route.
 * @throws RegistryError `INVALID_REQUEST` for a value that is no route, or longer than
 *   {@link MAX_CACHE_ROUTE_LENGTH}.
 */
export function requestedRoute(ctx: Context): CacheRoute | undefined {
  const value = ctx.request.headers[ROUTE_HEADER];
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : value;
  if (text.length > MAX_CACHE_ROUTE_LENGTH)
    throw new RegistryError('INVALID_REQUEST', `${Headers.contentCacheRoute}: too long`, {
      detail: { length: text.length, limit: MAX_CACHE_ROUTE_LENGTH },
    });
  return parseCacheRoute(text);
}

/**
 * The member of `cache` a route sends the blob to: the one it names, if it is a member (even one
 * DTR judges unhealthy: the operator is measuring it), else the first healthy member ranked by
 * rendezvous hashing of the digest, as for a user who chose the cache.
 * @throws RegistryError `NOT_FOUND` for a named member that is not one of the cache;
 *   `UNAVAILABLE` when no member is healthy (never served here instead: the client asked for the
 *   cache and must not measure DTR believing it measured the cache).
 */
function routedMember(
  services: DtrServices,
  cache: ContentCache,
  member: string | undefined,
  digest: Digest,
): string {
  if (member !== undefined) {
    if (!cache.hosts.includes(member))
      throw new RegistryError('NOT_FOUND', 'not a member of this content cache', {
        detail: { cache: cache.name, member },
      });
    return member;
  }
  const chosen = rendezvousRank(
    digest.toString(),
    services.cacheHealth.healthyMembers(cache),
    (host) => host,
  )[0];
  if (chosen === undefined) {
    const checked = services.cacheHealth.status(cache).healthy !== undefined;
    throw new RegistryError('UNAVAILABLE', 'the content cache has no healthy member', {
      detail: {
        cache: cache.name,
        reason: checked ? 'no member is healthy' : 'no member was checked yet',
      },
    });
  }
  return chosen;
}

/**
 * Where a blob request that asked for `route` goes, once its pull access and the blob were
 * checked (the route never widens access): undefined for `none` (DTR serves the blob), else the
 * URL of the cache's member with a grant for this repository, digest and user. Neither changes the
 * user's setting, and neither is counted as a pull by setting or network for the dashboard.
 * @throws RegistryError `UNAUTHORIZED` for an anonymous request routed to a cache (a grant names
 *   an account: sign in); `NOT_FOUND` for an unknown cache or a member of another cache;
 *   `UNAVAILABLE` when the cache has no healthy member.
 */
export async function routedBlobUrl(
  ctx: Context,
  services: DtrServices,
  route: CacheRoute,
  repository: Repository,
  digest: Digest,
): Promise<URL | undefined> {
  if (route.kind === 'none') {
    services.metrics.servedDirectly.inc({ reason: 'route-none' });
    return undefined;
  }
  const { principal } = authenticationOf(ctx);
  if (principal.kind !== 'user')
    throw services.authenticator.unauthorized(
      ctx,
      'sign in to route a blob through a content cache (a grant names an account)',
      formatAccessScope({ type: 'repository', name: repository.fullName, actions: ['pull'] }),
    );
  const cache = await services.caches.findByName(route.cache);
  if (!cache)
    throw new RegistryError('NOT_FOUND', 'no such content cache', {
      detail: { cache: route.cache },
    });
  const member = routedMember(services, cache, route.member, digest);
  if (
    route.member !== undefined &&
    services.cacheHealth.memberStatus(cache, member).healthy !== true
  )
    services.logger.info('blob routed to a member not known healthy', {
      cache: cache.name,
      host: member,
      account: principal.account.name,
      repo: repository.fullName,
      digest: digest.toString(),
    });
  return grantedBlobUrl(services, cache.name, member, principal.account, repository, digest);
}

import type { Account } from '../store/account-store';
import type { CacheChoice, CacheGroup, ContentCacheStore } from '../store/content-cache-store';
import type { CacheNetworkIndex } from './cache-networks';
import type { CachePullCounts } from './cache-pull-counts';

/** Why pulls go where they go: a chosen cache, the cache of the client's network, or none. */
export type PullReason = 'chosen' | 'network' | 'none' | 'no-network';

/** Where a user's blob pulls go now. */
export interface PullDestination {
  readonly choice: CacheChoice['kind'];
  /** The cache (group); undefined when DTR serves the blobs. */
  readonly cache: CacheGroup | undefined;
  /** `none`: the user chose no cache; `no-network`: no choice, and no cache serves the network. */
  readonly reason: PullReason;
}

/**
 * Where `account`'s blob pulls from `clientAddress` go: the cache they chose, else (no choice) the
 * cache whose networks contain the address, else none. One query (the choice, with its members);
 * the networks are looked up in memory. On every redirected blob request, which passes `counts`:
 * a pull sent to a cache is counted there by why (setting or network), for the dashboard.
 */
export async function pullDestination(
  caches: Pick<ContentCacheStore, 'choiceOf'>,
  networks: Pick<CacheNetworkIndex, 'cacheFor'>,
  account: Pick<Account, 'id'>,
  clientAddress: string,
  counts?: Pick<CachePullCounts, 'count'>,
): Promise<PullDestination> {
  const choice = await caches.choiceOf(account);
  if (choice.kind === 'cache') {
    counts?.count(choice.cache.id, 'chosen');
    return { choice: choice.kind, cache: choice.cache, reason: 'chosen' };
  }
  if (choice.kind === 'none') return { choice: choice.kind, cache: undefined, reason: 'none' };
  const cache = await networks.cacheFor(clientAddress);
  if (cache) counts?.count(cache.id, 'network');
  return { choice: choice.kind, cache, reason: cache ? 'network' : 'no-network' };
}

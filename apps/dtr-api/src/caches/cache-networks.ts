import { AddressRanges, parseCidr } from '@dtr-cache/network';
import type { ContentCache, ContentCacheStore } from '../store/content-cache-store';

interface Entry {
  readonly cache: ContentCache;
  readonly prefix: number;
  readonly range: AddressRanges;
}

/** How old the list of caches' networks may be before a lookup reloads it. */
export const CACHE_NETWORKS_REFRESH_MS = 5000;

/**
 * Which cache serves a client network: for users without a setting, the cache whose networks
 * contain the client's address, the longest prefix winning (equal prefixes: the first cache by
 * name). Keeps the caches' networks in memory and reloads them when older than
 * {@link CACHE_NETWORKS_REFRESH_MS} (a cache registered on another replica is seen within that
 * time), one reload at a time.
 */
export class CacheNetworkIndex {
  private entries: readonly Entry[] = [];
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loaded = false;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly caches: Pick<ContentCacheStore, 'list'>,
    private readonly refreshMs = CACHE_NETWORKS_REFRESH_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The cache for a client address, or undefined (no cache's networks contain it).
   * @throws the store's error if the networks cannot be loaded and none were loaded before.
   */
  async cacheFor(address: string): Promise<ContentCache | undefined> {
    if (this.now() - this.loadedAt > this.refreshMs) {
      try {
        await this.reload();
      } catch (error) {
        // Answer from the networks loaded before, if any; the next lookup tries again.
        if (!this.loaded) throw error;
      }
    }
    return this.entries.find((entry) => entry.range.contains(address))?.cache;
  }

  /** Forgets what was loaded: the next lookup reloads (after a change on this replica). */
  invalidate(): void {
    this.loadedAt = Number.NEGATIVE_INFINITY;
  }

  private reload(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const caches = await this.caches.list();
    const entries: Entry[] = [];
    for (const cache of caches) {
      for (const text of cache.networks) {
        const cidr = parseCidr(text);
        entries.push({ cache, prefix: cidr.prefix, range: new AddressRanges([cidr]) });
      }
    }
    // Longest prefix first; the sort is stable and `list` is by name, so ties go to the first name.
    this.entries = entries.sort((a, b) => b.prefix - a.prefix);
    this.loadedAt = this.now();
    this.loaded = true;
  }
}

import type { PullCount } from '../store/cache-stats-store';

/**
 * Blob pulls sent to each cache since the last flush, by why DTR chose it (the user's setting, or
 * the client's network), counted in memory on every pull and added to the database once per
 * sampling interval by each replica (see `CacheStatsSampler`): no write per blob.
 */
export class CachePullCounts {
  private counts = new Map<number, { bySetting: number; byNetwork: number }>();

  /** One pull sent to cache `cacheId` because of the user's setting or the client's network. */
  count(cacheId: number, reason: 'chosen' | 'network'): void {
    let count = this.counts.get(cacheId);
    if (!count) {
      count = { bySetting: 0, byNetwork: 0 };
      this.counts.set(cacheId, count);
    }
    if (reason === 'chosen') count.bySetting += 1;
    else count.byNetwork += 1;
  }

  /** The counts since the last call, which start again from zero. */
  take(): Map<number, PullCount> {
    const taken = this.counts;
    this.counts = new Map();
    return taken;
  }

  /** Counts taken but not stored (the database failed): added back for the next flush. */
  giveBack(counts: ReadonlyMap<number, PullCount>): void {
    for (const [cacheId, count] of counts) {
      const current = this.counts.get(cacheId) ?? { bySetting: 0, byNetwork: 0 };
      current.bySetting += count.bySetting;
      current.byNetwork += count.byNetwork;
      this.counts.set(cacheId, current);
    }
  }
}

import { sql } from 'kysely';
import type { CacheStats } from '@dtr-cache/registry-protocol';
import type { Database } from './schema';

/** One member's sample of one interval: the cache's stats, or why they could not be read. */
export interface CacheSample {
  readonly cacheId: number;
  readonly host: string;
  /** The interval slot (milliseconds since the epoch divided by the interval). */
  readonly slot: number;
  readonly sampledAt: Date;
  /** The stats, or undefined when the sample failed (`error`). */
  readonly stats: CacheStats | undefined;
  readonly error: string | undefined;
}

/** Pulls sent to a cache, by why DTR chose it for the user. */
export interface PullCount {
  /** The user's setting names the cache. */
  readonly bySetting: number;
  /** No setting: the client's address is in one of the cache's networks. */
  readonly byNetwork: number;
}

type SampleRow = Awaited<ReturnType<CacheStatsStore['rows']>>[number];

function sampleOf(row: SampleRow): CacheSample {
  const ok = row.ok === 1;
  const n = (value: number | null) => Number(value ?? 0);
  return {
    cacheId: row.cache_id,
    host: row.host,
    slot: Number(row.slot),
    sampledAt: new Date(row.sampled_at),
    error: row.error ?? undefined,
    stats: ok
      ? {
          version: row.version ?? '',
          startedAt: row.started_at ?? '',
          requests: {
            hit: n(row.requests_hit),
            miss: n(row.requests_miss),
            coalesced: n(row.requests_coalesced),
            denied: n(row.requests_denied),
            error: n(row.requests_error),
          },
          bytesServed: n(row.bytes_served),
          bytesFetched: n(row.bytes_fetched),
          fills: {
            committed: n(row.fills_committed),
            failed: n(row.fills_failed),
            inFlight: n(row.fills_in_flight),
          },
          disk: {
            usedBytes: row.disk_used === null ? null : Number(row.disk_used),
            limitBytes: row.disk_limit === null ? null : Number(row.disk_limit),
            blobs: row.disk_blobs === null ? null : Number(row.disk_blobs),
          },
          upstreams: JSON.parse(row.upstreams ?? '[]') as string[],
        }
      : undefined,
  };
}

/**
 * The dashboard's data shared by the replicas: the interval slots claimed for sampling (one
 * replica each), the cache members' stats samples (the last hours), and the pulls counted per
 * cache by why it was chosen.
 */
export class CacheStatsStore {
  constructor(private readonly database: Database) {}

  /**
   * Claims interval `slot` for `replica`: true for the one call that inserted it (every other
   * finds it taken, and does not sample).
   */
  async claimSlot(slot: number, replica: string, now = new Date()): Promise<boolean> {
    const inserted = await this.database
      .insertInto('cache_sample_slots')
      .values({ slot, replica, claimed_at: now.toISOString() })
      .onConflict((conflict) => conflict.column('slot').doNothing())
      .executeTakeFirst();
    return inserted.numInsertedOrUpdatedRows === 1n;
  }

  /** Stores samples; one of a cache deleted meanwhile, or already stored for its slot, is dropped. */
  async record(samples: readonly CacheSample[]): Promise<void> {
    for (const sample of samples) {
      const stats = sample.stats;
      try {
        await this.database
          .insertInto('cache_stats_samples')
          .values({
            cache_id: sample.cacheId,
            host: sample.host,
            slot: sample.slot,
            sampled_at: sample.sampledAt.toISOString(),
            ok: stats ? 1 : 0,
            error: sample.error ?? null,
            version: stats?.version ?? null,
            started_at: stats?.startedAt ?? null,
            upstreams: stats ? JSON.stringify(stats.upstreams) : null,
            requests_hit: stats?.requests.hit ?? null,
            requests_miss: stats?.requests.miss ?? null,
            requests_coalesced: stats?.requests.coalesced ?? null,
            requests_denied: stats?.requests.denied ?? null,
            requests_error: stats?.requests.error ?? null,
            bytes_served: stats?.bytesServed ?? null,
            bytes_fetched: stats?.bytesFetched ?? null,
            fills_committed: stats?.fills.committed ?? null,
            fills_failed: stats?.fills.failed ?? null,
            fills_in_flight: stats?.fills.inFlight ?? null,
            disk_used: stats?.disk.usedBytes ?? null,
            disk_limit: stats?.disk.limitBytes ?? null,
            disk_blobs: stats?.disk.blobs ?? null,
          })
          .onConflict((conflict) => conflict.columns(['cache_id', 'host', 'slot']).doNothing())
          .execute();
      } catch (error) {
        // The cache was deleted while it was sampled (its id no longer exists): nothing to keep.
        if (await this.cacheExists(sample.cacheId)) throw error;
      }
    }
  }

  private async cacheExists(id: number): Promise<boolean> {
    const row = await this.database
      .selectFrom('content_caches')
      .select('id')
      .where('id', '=', id)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Deletes samples and claims of slots before `slot` (the table stays bounded). */
  async prune(slot: number): Promise<void> {
    await this.database.deleteFrom('cache_stats_samples').where('slot', '<', slot).execute();
    await this.database.deleteFrom('cache_sample_slots').where('slot', '<', slot).execute();
  }

  private rows(since: number, cacheId?: number) {
    let query = this.database
      .selectFrom('cache_stats_samples')
      .selectAll()
      .where('slot', '>=', since);
    if (cacheId !== undefined) query = query.where('cache_id', '=', cacheId);
    return query.orderBy('slot').orderBy('host').execute();
  }

  /** The samples of slot `since` and later, of one cache or all, oldest first. */
  async samples(since: number, cacheId?: number): Promise<CacheSample[]> {
    return (await this.rows(since, cacheId)).map(sampleOf);
  }

  /**
   * Adds pulls counted by one replica since it last added them, in one transaction: all are added
   * or none (the caller keeps them for the next time). Counts of a cache deleted meanwhile are
   * dropped.
   */
  async addPulls(counts: ReadonlyMap<number, PullCount>): Promise<void> {
    await this.database.transaction().execute(async (transaction) => {
      const existing = new Set(
        (
          await transaction
            .selectFrom('content_caches')
            .select('id')
            .where('id', 'in', [...counts.keys()])
            .execute()
        ).map((row) => row.id),
      );
      for (const [cacheId, count] of counts) {
        if (!existing.has(cacheId)) continue;
        await transaction
          .insertInto('content_cache_pulls')
          .values({ cache_id: cacheId, by_setting: count.bySetting, by_network: count.byNetwork })
          .onConflict((conflict) =>
            conflict.column('cache_id').doUpdateSet({
              by_setting: sql<number>`content_cache_pulls.by_setting + excluded.by_setting`,
              by_network: sql<number>`content_cache_pulls.by_network + excluded.by_network`,
            }),
          )
          .execute();
      }
    });
  }

  /** Pulls counted per cache id since it was registered. */
  async pulls(): Promise<Map<number, PullCount>> {
    const rows = await this.database.selectFrom('content_cache_pulls').selectAll().execute();
    return new Map(
      rows.map((row) => [
        row.cache_id,
        { bySetting: Number(row.by_setting), byNetwork: Number(row.by_network) },
      ]),
    );
  }

  /** Users whose setting names each cache, by cache id. */
  async usersByCache(): Promise<Map<number, number>> {
    const rows = await this.database
      .selectFrom('account_settings')
      .select(['content_cache_id', (eb) => eb.fn.countAll<number>().as('users')])
      .where('content_cache_id', 'is not', null)
      .groupBy('content_cache_id')
      .execute();
    return new Map(rows.map((row) => [Number(row.content_cache_id), Number(row.users)]));
  }
}

import type { Database } from './schema';

/** A cache's latest health check, as any replica recorded it. */
export interface RecordedHealth {
  readonly healthy: boolean;
  readonly checkedAt: Date;
  /** The coarse reason of an unhealthy result. */
  readonly error: string | undefined;
}

/**
 * The caches' latest health checks, shared by the replicas: each one records what it found, and
 * all of them judge a cache by the latest record, so a user is sent to the same place by all.
 */
export class CacheHealthStore {
  constructor(private readonly database: Database) {}

  /** The latest check of every cache that has one, by cache id. */
  async latest(): Promise<Map<number, RecordedHealth>> {
    const rows = await this.database.selectFrom('cache_health').selectAll().execute();
    return new Map(
      rows.map((row) => [
        row.cache_id,
        {
          healthy: row.healthy === 1,
          checkedAt: new Date(row.checked_at),
          error: row.error ?? undefined,
        },
      ]),
    );
  }

  /**
   * Records a check of cache `cacheId` unless a later one is recorded already; does nothing for a
   * cache deleted meanwhile.
   */
  async record(cacheId: number, health: RecordedHealth): Promise<void> {
    const exists = await this.database
      .selectFrom('content_caches')
      .select('id')
      .where('id', '=', cacheId)
      .executeTakeFirst();
    if (!exists) return;
    const values = {
      cache_id: cacheId,
      healthy: health.healthy ? 1 : 0,
      error: health.error ?? null,
      checked_at: health.checkedAt.toISOString(),
    };
    await this.database
      .insertInto('cache_health')
      .values(values)
      .onConflict((conflict) =>
        conflict
          .column('cache_id')
          .doUpdateSet({
            healthy: values.healthy,
            error: values.error,
            checked_at: values.checked_at,
          })
          .where('cache_health.checked_at', '<', values.checked_at),
      )
      .execute();
  }
}

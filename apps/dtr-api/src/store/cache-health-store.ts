import type { Database } from './schema';

/** A cache member's latest health check, as any replica recorded it. */
export interface RecordedHealth {
  readonly healthy: boolean;
  readonly checkedAt: Date;
  /** The coarse reason of an unhealthy result. */
  readonly error: string | undefined;
}

/** The key of a cache member in {@link CacheHealthStore.latest}'s answer. */
export function memberKey(cacheId: number, host: string): string {
  return `${cacheId} ${host}`;
}

/**
 * The cache members' latest health checks, shared by the replicas: each one records what it found,
 * and all of them judge a member by the latest record, so a user is sent to the same place by all.
 */
export class CacheHealthStore {
  constructor(private readonly database: Database) {}

  /** The latest check of every member that has one, by {@link memberKey}. */
  async latest(): Promise<Map<string, RecordedHealth>> {
    const rows = await this.database.selectFrom('cache_member_health').selectAll().execute();
    return new Map(
      rows.map((row) => [
        memberKey(row.cache_id, row.host),
        {
          healthy: row.healthy === 1,
          checkedAt: new Date(row.checked_at),
          error: row.error ?? undefined,
        },
      ]),
    );
  }

  /**
   * Records a check of member `host` of cache `cacheId` unless a later one is recorded already;
   * does nothing for a cache deleted meanwhile or a member no longer in it. The first member's
   * check also goes to `cache_health`, which replicas of the release before groups read.
   */
  async record(cacheId: number, host: string, health: RecordedHealth): Promise<void> {
    const member = await this.database
      .selectFrom('content_cache_members')
      .select('position')
      .where('cache_id', '=', cacheId)
      .where('host', '=', host)
      .executeTakeFirst();
    if (!member) return;
    const values = {
      healthy: health.healthy ? 1 : 0,
      error: health.error ?? null,
      checked_at: health.checkedAt.toISOString(),
    };
    await this.database
      .insertInto('cache_member_health')
      .values({ cache_id: cacheId, host, ...values })
      .onConflict((conflict) =>
        conflict
          .columns(['cache_id', 'host'])
          .doUpdateSet(values)
          .where('cache_member_health.checked_at', '<', values.checked_at),
      )
      .execute();
    if (member.position !== 0) return;
    await this.database
      .insertInto('cache_health')
      .values({ cache_id: cacheId, ...values })
      .onConflict((conflict) =>
        conflict
          .column('cache_id')
          .doUpdateSet(values)
          .where('cache_health.checked_at', '<', values.checked_at),
      )
      .execute();
  }
}

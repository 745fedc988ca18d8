import type { ColumnDefinitionBuilder } from 'kysely';
import { columns, type Migration } from './migration-kit';

/**
 * The content cache dashboard: one stats sample per cache member and interval (`cache_stats_samples`,
 * the last hours only), the interval slots the replicas claim so that one of them samples each
 * interval (`cache_sample_slots`), and pulls counted per cache by how DTR chose it
 * (`content_cache_pulls`). Adds tables only: the previous release keeps working (it never reads
 * them).
 */
export const cacheDashboard: Migration = {
  version: 9,
  name: 'cache-dashboard',
  compatibleFrom: 1,
  async up(database, engine) {
    const { id } = columns(engine);
    const cacheId = (c: ColumnDefinitionBuilder) =>
      c.notNull().references('content_caches.id').onDelete('cascade');
    let samples = database.schema
      .createTable('cache_stats_samples')
      .addColumn('id', 'integer', id)
      .addColumn('cache_id', 'integer', cacheId)
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('slot', 'bigint', (c) => c.notNull())
      .addColumn('sampled_at', 'text', (c) => c.notNull())
      .addColumn('ok', 'integer', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('version', 'text')
      .addColumn('started_at', 'text')
      .addColumn('upstreams', 'text');
    for (const name of [
      'requests_hit',
      'requests_miss',
      'requests_coalesced',
      'requests_denied',
      'requests_error',
      'bytes_served',
      'bytes_fetched',
      'fills_committed',
      'fills_failed',
      'fills_in_flight',
      'disk_used',
      'disk_limit',
      'disk_blobs',
    ])
      samples = samples.addColumn(name, 'bigint');
    await samples.execute();
    await database.schema
      .createIndex('cache_stats_samples_member')
      .on('cache_stats_samples')
      .columns(['cache_id', 'host', 'slot'])
      .unique()
      .execute();
    await database.schema
      .createIndex('cache_stats_samples_slot')
      .on('cache_stats_samples')
      .column('slot')
      .execute();
    await database.schema
      .createTable('cache_sample_slots')
      .addColumn('slot', 'bigint', (c) => c.primaryKey())
      .addColumn('replica', 'text', (c) => c.notNull())
      .addColumn('claimed_at', 'text', (c) => c.notNull())
      .execute();
    await database.schema
      .createTable('content_cache_pulls')
      .addColumn('cache_id', 'integer', (c) =>
        c.primaryKey().references('content_caches.id').onDelete('cascade'),
      )
      .addColumn('by_setting', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('by_network', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};

/**
 * Indexes for the web UI's listings: a user's organizations (`memberships` is keyed by
 * organization first, so "where user_id = ?" scanned it; account deletion filters on it too) and a
 * repository's tags newest first. Adds indexes only: the previous release keeps working.
 */
export const browsingIndexes: Migration = {
  version: 10,
  name: 'browsing-indexes',
  compatibleFrom: 1,
  async up(database) {
    await database.schema
      .createIndex('memberships_user')
      .on('memberships')
      .column('user_id')
      .execute();
    await database.schema
      .createIndex('tags_updated_at')
      .on('tags')
      .columns(['repository_id', 'updated_at'])
      .execute();
  },
};

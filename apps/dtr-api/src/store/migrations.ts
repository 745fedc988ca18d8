import { type ColumnDefinitionBuilder, sql } from 'kysely';
import { addNullableText, type Migration } from './migration-kit';
import { baseline } from './migrations-baseline';
import { browsingIndexes, cacheDashboard } from './migrations-web-ui';
import { tokenKeys } from './migrations-token-keys';

export type { Migration } from './migration-kit';

/**
 * Upload sessions claimed by the request writing to them, across replicas: a PATCH on one
 * replica and a retried PATCH on another cannot append to the same bytes at once. Only adds
 * nullable columns: releases of schema 1 keep working beside it (they ignore the claims).
 */
const uploadSessionClaims: Migration = {
  version: 2,
  name: 'upload-session-claims',
  compatibleFrom: 1,
  async up(database) {
    await addNullableText(database, 'upload_sessions', ['claimed_by', 'claimed_until']);
  },
};

/**
 * Grant keys published before they sign (replicas rotate together, see GrantKeyring). Only adds
 * a nullable column (NULL: signs from its creation, as schema 1 had it).
 */
const grantKeyActivation: Migration = {
  version: 3,
  name: 'grant-key-activation',
  compatibleFrom: 1,
  async up(database) {
    await addNullableText(database, 'grant_keys', ['activates_at']);
  },
};

/** The caches' latest health checks, shared by the replicas (see CacheHealthStore). Adds a table. */
const sharedCacheHealth: Migration = {
  version: 4,
  name: 'shared-cache-health',
  compatibleFrom: 1,
  async up(database) {
    await database.schema
      .createTable('cache_health')
      .addColumn('cache_id', 'integer', (c) =>
        c.primaryKey().references('content_caches.id').onDelete('cascade'),
      )
      .addColumn('healthy', 'integer', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('checked_at', 'text', (c) => c.notNull())
      .execute();
  },
};

/** Failed password checks shared by the replicas (see AuthFailureStore). Adds a table. */
const sharedAuthFailures: Migration = {
  version: 5,
  name: 'shared-auth-failures',
  compatibleFrom: 1,
  async up(database) {
    await database.schema
      .createTable('auth_failures')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('until_ms', 'bigint', (c) => c.notNull())
      .addColumn('last_ms', 'bigint', (c) => c.notNull())
      .execute();
    await database.schema
      .createIndex('auth_failures_last')
      .on('auth_failures')
      .column('last_ms')
      .execute();
  },
};

/**
 * Cache groups and choice by client network: a cache's members (its first is also kept in
 * `content_caches.host`, which the previous release reads), its networks, each member's latest
 * health check, and an explicit "no cache" in a user's settings. Adds tables and a column with a
 * default: the previous release keeps working (it sees one-member caches, and a user who chose no
 * cache as one without a setting, which it treats alike).
 */
const cacheGroups: Migration = {
  version: 6,
  name: 'cache-groups',
  compatibleFrom: 1,
  async up(database) {
    const cacheId = (c: ColumnDefinitionBuilder) =>
      c.notNull().references('content_caches.id').onDelete('cascade');
    await database.schema
      .createTable('content_cache_members')
      .addColumn('cache_id', 'integer', cacheId)
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('content_cache_members_pk', ['cache_id', 'host'])
      .execute();
    await sql`INSERT INTO content_cache_members (cache_id, host, position)
      SELECT id, host, 0 FROM content_caches`.execute(database);
    await database.schema
      .createTable('content_cache_networks')
      .addColumn('cache_id', 'integer', cacheId)
      .addColumn('cidr', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('content_cache_networks_pk', ['cache_id', 'cidr'])
      .execute();
    await database.schema
      .createTable('cache_member_health')
      .addColumn('cache_id', 'integer', cacheId)
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('healthy', 'integer', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('checked_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('cache_member_health_pk', ['cache_id', 'host'])
      .execute();
    await database.schema
      .alterTable('account_settings')
      .addColumn('no_cache', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    // A setting without a cache meant "no cache" before: it still does (nothing changes for a
    // user at the upgrade); only users who never chose get the cache of their network.
    await sql`UPDATE account_settings SET no_cache = 1 WHERE content_cache_id IS NULL`.execute(
      database,
    );
  },
};

/**
 * OCI 1.1 referrers: a manifest's `subject` digest, its artifact type and its annotations, so the
 * referrers of a digest are one indexed query. Nullable columns and an index: the previous
 * release keeps working (it neither writes nor reads them; manifests it pushes are indexed when
 * pushed again, or adopted from the referrers tag schema, see referrer-store.ts).
 */
const manifestReferrers: Migration = {
  version: 7,
  name: 'manifest-referrers',
  compatibleFrom: 1,
  async up(database) {
    await addNullableText(database, 'manifests', [
      'subject_digest',
      'artifact_type',
      'annotations',
    ]);
    await database.schema
      .createIndex('manifests_subject')
      .on('manifests')
      .columns(['repository_id', 'subject_digest'])
      .execute();
  },
};

/**
 * Garbage collection of blobs (see `gc/`): when each blob link was last made or used by a push
 * (NULL: by a release before this one, or before it), indexes to find a digest's links and the
 * manifests pushed lately, and the lease that keeps garbage collection to one run at a time on
 * SQLite. Adds a nullable column, indexes and a table: the previous release keeps working (its
 * links carry no time, which garbage collection treats as "just now").
 */
const garbageCollection: Migration = {
  version: 8,
  name: 'garbage-collection',
  compatibleFrom: 1,
  async up(database) {
    await addNullableText(database, 'repository_blobs', ['linked_at']);
    await database.schema
      .createIndex('repository_blobs_digest')
      .on('repository_blobs')
      .columns(['digest', 'linked_at'])
      .execute();
    await database.schema
      .createIndex('manifests_created_at')
      .on('manifests')
      .column('created_at')
      .execute();
    await database.schema
      .createTable('maintenance_leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
  },
};

/** Every migration, in order; the last one's version is the schema this code is written for. */
export const MIGRATIONS: readonly Migration[] = [
  baseline,
  uploadSessionClaims,
  grantKeyActivation,
  sharedCacheHealth,
  sharedAuthFailures,
  cacheGroups,
  manifestReferrers,
  garbageCollection,
  cacheDashboard,
  browsingIndexes,
  tokenKeys,
];

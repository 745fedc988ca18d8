import { type ColumnDefinitionBuilder, type Kysely, sql } from 'kysely';
import type { DatabaseEngine } from './schema';

/**
 * One step of the schema, the same on both engines (Kysely's schema builder; the few differences
 * are the helpers below). Migrations are expand-then-contract: one that only adds (tables,
 * nullable columns, indexes) keeps `compatibleFrom` at the version before it, so replicas of the
 * previous release keep running while they are replaced; one that removes or changes what older
 * code uses raises it to its own version, and older replicas then refuse to start, saying why.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The oldest schema version whose code still works once this migration is applied. */
  readonly compatibleFrom: number;
  up(database: Kysely<unknown>, engine: DatabaseEngine): Promise<void>;
}

type Column = (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;

/** Column helpers that hide the engines' differences. */
function columns(engine: DatabaseEngine) {
  return {
    /** A never-reused integer key (SQLite AUTOINCREMENT; a PostgreSQL identity). */
    id: ((column) =>
      engine === 'postgresql'
        ? column.primaryKey().generatedByDefaultAsIdentity()
        : column.primaryKey().autoIncrement()) as Column,
    /**
     * Text compared and ordered byte by byte, as SQLite does and the distribution spec wants for
     * tag and catalog order (PostgreSQL would otherwise use the database's locale).
     */
    bytewise: ((column) =>
      engine === 'postgresql' ? column.modifyFront(sql`collate "C"`) : column) as Column,
  };
}

/**
 * Adds nullable text columns to `table`, one statement each (SQLite alters one column at a time):
 * the additive step that keeps the previous release working.
 */
async function addNullableText(
  database: Kysely<unknown>,
  table: string,
  names: readonly string[],
): Promise<void> {
  for (const name of names)
    await database.schema.alterTable(table).addColumn(name, 'text').execute();
}

/** The schema as the SQLite-only releases left it (their `user_version` 4), on both engines. */
const baseline: Migration = {
  version: 1,
  name: 'baseline',
  compatibleFrom: 1,
  async up(database, engine) {
    const { id, bytewise } = columns(engine);
    const schema = database.schema;
    await schema
      .createTable('accounts')
      .addColumn('id', 'integer', id)
      .addColumn('name', 'text', (c) => bytewise(c).notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('user', 'organization')`))
      .addColumn('password_hash', 'text')
      .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('storage_quota', 'bigint')
      .execute();
    await schema
      .createTable('memberships')
      .addColumn('organization_id', 'integer', (c) =>
        c.notNull().references('accounts.id').onDelete('cascade'),
      )
      .addColumn('user_id', 'integer', (c) =>
        c.notNull().references('accounts.id').onDelete('cascade'),
      )
      .addColumn('role', 'text', (c) =>
        c
          .notNull()
          .defaultTo('member')
          .check(sql`role in ('owner', 'member')`),
      )
      .addPrimaryKeyConstraint('memberships_pk', ['organization_id', 'user_id'])
      .execute();
    await schema
      .createTable('repositories')
      .addColumn('id', 'integer', id)
      .addColumn('namespace_id', 'integer', (c) =>
        c.notNull().references('accounts.id').onDelete('cascade'),
      )
      .addColumn('name', 'text', (c) => bytewise(c).notNull())
      .addColumn('visibility', 'text', (c) =>
        c.notNull().check(sql`visibility in ('public', 'private')`),
      )
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('repositories_name', ['namespace_id', 'name'])
      .execute();
    await schema
      .createIndex('repositories_namespace')
      .on('repositories')
      .column('namespace_id')
      .execute();
    await schema
      .createTable('repository_blobs')
      .addColumn('repository_id', 'integer', (c) =>
        c.notNull().references('repositories.id').onDelete('cascade'),
      )
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
      .execute();
    await schema
      .createTable('manifests')
      .addColumn('repository_id', 'integer', (c) =>
        c.notNull().references('repositories.id').onDelete('cascade'),
      )
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('media_type', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('manifests_pk', ['repository_id', 'digest'])
      .execute();
    await schema
      .createTable('tags')
      .addColumn('repository_id', 'integer', (c) =>
        c.notNull().references('repositories.id').onDelete('cascade'),
      )
      .addColumn('name', 'text', (c) => bytewise(c).notNull())
      .addColumn('manifest_digest', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('tags_pk', ['repository_id', 'name'])
      .addForeignKeyConstraint(
        'tags_manifest',
        ['repository_id', 'manifest_digest'],
        'manifests',
        ['repository_id', 'digest'],
        (c) => c.onDelete('cascade'),
      )
      .execute();
    await schema
      .createTable('content_caches')
      .addColumn('id', 'integer', id)
      .addColumn('name', 'text', (c) => bytewise(c).notNull().unique())
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await schema
      .createTable('account_settings')
      .addColumn('account_id', 'integer', (c) =>
        c.primaryKey().references('accounts.id').onDelete('cascade'),
      )
      .addColumn('content_cache_id', 'integer', (c) =>
        c.references('content_caches.id').onDelete('set null'),
      )
      .execute();
    await schema
      .createTable('grant_keys')
      .addColumn('key_id', 'text', (c) => c.primaryKey())
      .addColumn('private_key_pem', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('retired_at', 'text')
      .execute();
    await schema
      .createTable('sessions')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'integer', (c) =>
        c.notNull().references('accounts.id').onDelete('cascade'),
      )
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();
    await schema
      .createTable('upload_sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('repository_id', 'integer', (c) =>
        c.notNull().references('repositories.id').onDelete('cascade'),
      )
      .addColumn('account_id', 'integer', (c) =>
        c.notNull().references('accounts.id').onDelete('cascade'),
      )
      .addColumn('temp_key', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('active_at', 'text', (c) => c.notNull())
      .execute();
    await schema
      .createIndex('upload_sessions_account')
      .on('upload_sessions')
      .column('account_id')
      .execute();
    await schema
      .createIndex('upload_sessions_active_at')
      .on('upload_sessions')
      .column('active_at')
      .execute();
  },
};

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
];

import { sql } from 'kysely';
import { columns, type Migration } from './migration-kit';

/** The schema as the SQLite-only releases left it (their `user_version` 4), on both engines. */
export const baseline: Migration = {
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

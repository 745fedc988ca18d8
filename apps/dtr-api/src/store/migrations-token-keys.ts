import type { Migration } from './migration-kit';

/**
 * The registry token signing keys in the database (`token_keys`, the columns of `grant_keys`),
 * rotated by the replicas together as the grant keys are; before, one key in `auth.keyfile` that
 * never changed. Adds a table only: the previous release keeps working (it signs with the file's
 * key, which the first replica of this release imports as the first key, so both verify each
 * other's tokens).
 */
export const tokenKeys: Migration = {
  version: 11,
  name: 'token-keys',
  compatibleFrom: 1,
  async up(database) {
    await database.schema
      .createTable('token_keys')
      .addColumn('key_id', 'text', (c) => c.primaryKey())
      .addColumn('private_key_pem', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('activates_at', 'text')
      .addColumn('retired_at', 'text')
      .execute();
  },
};

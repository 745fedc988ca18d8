import { type Kysely, sql } from 'kysely';
import type { Migration } from './migrations';
import type { DatabaseEngine, DtrSchema } from './schema';

/** A database whose schema this code cannot work with (a later release contracted it). */
export class IncompatibleSchemaError extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly compatibleFrom: number,
    readonly codeVersion: number,
  ) {
    super(
      `the database schema is at version ${databaseVersion}, which works only with code written ` +
        `for schema version ${compatibleFrom} or later; this dtr-api knows schema version ` +
        `${codeVersion}: upgrade this replica`,
    );
    this.name = 'IncompatibleSchemaError';
  }
}

/** What {@link migrate} found and did. */
export interface MigrationResult {
  /** Versions applied now, in order. */
  readonly applied: number[];
  /** The database's schema version afterwards (may be above the code's: a newer replica ran). */
  readonly databaseVersion: number;
}

/** Any number; PostgreSQL's advisory lock key for DTR's schema migrations. */
const MIGRATION_LOCK_KEY = 0x64747201;

/**
 * Brings the schema up to the last of `migrations`, all in one transaction under a lock that
 * every replica takes (PostgreSQL: a transaction-scoped advisory lock; SQLite: `BEGIN IMMEDIATE`,
 * the database's write lock), so replicas starting at once apply each migration exactly once and
 * the others wait, then find nothing to do. A database migrated further by a newer release is
 * used as it is if the newest migration applied keeps this code's version compatible.
 * @throws IncompatibleSchemaError if it does not (nothing is changed).
 */
export async function migrate(
  database: Kysely<DtrSchema>,
  engine: DatabaseEngine,
  migrations: readonly Migration[],
  now = () => new Date(),
): Promise<MigrationResult> {
  const codeVersion = migrations.at(-1)?.version ?? 0;
  return inLockedTransaction(database, engine, async (transaction) => {
    await transaction.schema
      .createTable('schema_migrations')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('compatible_from', 'integer', (c) => c.notNull())
      .addColumn('applied_at', 'text', (c) => c.notNull())
      .execute();
    const newest = await transaction
      .selectFrom('schema_migrations')
      .select(['version', 'compatible_from'])
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    const databaseVersion = newest?.version ?? 0;
    if (newest && newest.version > codeVersion && newest.compatible_from > codeVersion)
      throw new IncompatibleSchemaError(newest.version, newest.compatible_from, codeVersion);
    const applied: number[] = [];
    for (const migration of migrations) {
      if (migration.version <= databaseVersion) continue;
      await migration.up(transaction as unknown as Kysely<unknown>, engine);
      await transaction
        .insertInto('schema_migrations')
        .values({
          version: migration.version,
          name: migration.name,
          compatible_from: migration.compatibleFrom,
          applied_at: now().toISOString(),
        })
        .execute();
      applied.push(migration.version);
    }
    return { applied, databaseVersion: Math.max(databaseVersion, codeVersion) };
  });
}

async function inLockedTransaction<T>(
  database: Kysely<DtrSchema>,
  engine: DatabaseEngine,
  body: (transaction: Kysely<DtrSchema>) => Promise<T>,
): Promise<T> {
  if (engine === 'postgresql') {
    return database.transaction().execute(async (transaction) => {
      await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(transaction);
      return body(transaction);
    });
  }
  // SQLite: Kysely's transactions begin DEFERRED; IMMEDIATE takes the write lock first, so a
  // second process waits (busy_timeout) instead of failing to upgrade a read lock.
  return database.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection);
    try {
      const result = await body(connection);
      await sql`commit`.execute(connection);
      return result;
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
  });
}

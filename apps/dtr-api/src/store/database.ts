import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, type LogEvent, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { upgradeLegacySqlite } from './legacy-sqlite';
import { type Migration, MIGRATIONS } from './migrations';
import { postgresConnection } from './postgres-connection';
import { withStatementCache } from './sqlite-statements';
import { migrate, type MigrationResult } from './migrator';
import type { Database, DatabaseEngine, DtrSchema } from './schema';

/** Where the database is: an SQLite file (`:memory:` for a throw-away one) or a PostgreSQL URL. */
export type DatabaseLocation =
  | { readonly engine: 'sqlite'; readonly path: string }
  | { readonly engine: 'postgresql'; readonly url: string };

/** An open, migrated database. */
export interface OpenedDatabase {
  readonly database: Database;
  readonly engine: DatabaseEngine;
  readonly migration: MigrationResult;
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** The migrations to apply (tests give their own). */
  readonly migrations?: readonly Migration[];
  /** PostgreSQL connections this process keeps at most. */
  readonly poolSize?: number;
  /** Called with every query's outcome and time (metrics). */
  readonly log?: (event: LogEvent) => void;
}

/** `int8` (COUNT, bigint columns) as a JavaScript number: sizes stay far below 2^53. */
const INT8_OID = 20;

function postgresPool(url: string, poolSize: number): pg.Pool {
  const pool = new pg.Pool({
    ...postgresConnection(url),
    max: poolSize,
    connectionTimeoutMillis: 5000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection that breaks (the server restarts) is dropped, not a process crash.
  pool.on('error', () => undefined);
  // So is one lent out when it breaks between queries (the pool listens to idle ones only): pg
  // emits that as an 'error' event, which without a listener would end the process. The work on
  // it fails with the error, and the pool drops it when it comes back.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

function sqliteHandle(path: string): BetterSqlite3.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const handle = new BetterSqlite3(path);
  handle.pragma('journal_mode = WAL');
  handle.pragma('synchronous = FULL');
  handle.pragma('busy_timeout = 5000');
  handle.pragma('foreign_keys = ON');
  return handle;
}

/**
 * Opens the database and brings its schema up to date under the migration lock (see
 * {@link migrate}). SQLite runs in WAL mode with foreign keys on; a database of the SQLite-only
 * releases is first brought to their last schema, which is the baseline migration.
 * @throws IncompatibleSchemaError if a newer release changed the schema beyond what this code
 *   works with; the driver's error if the database cannot be reached (the database is closed).
 */
export async function openDatabase(
  location: DatabaseLocation,
  options: OpenDatabaseOptions = {},
): Promise<OpenedDatabase> {
  let database: Database;
  let legacy = false;
  if (location.engine === 'sqlite') {
    const handle = sqliteHandle(location.path);
    try {
      legacy = upgradeLegacySqlite(handle) > 0;
    } catch (error) {
      handle.close();
      throw error;
    }
    database = new Kysely<DtrSchema>({
      dialect: new SqliteDialect({ database: withStatementCache(handle) }),
      ...(options.log ? { log: options.log } : {}),
    });
  } else {
    database = new Kysely<DtrSchema>({
      dialect: new PostgresDialect({ pool: postgresPool(location.url, options.poolSize ?? 10) }),
      ...(options.log ? { log: options.log } : {}),
    });
  }
  try {
    if (legacy) await markBaselineApplied(database);
    const migration = await migrate(database, location.engine, options.migrations ?? MIGRATIONS);
    return { database, engine: location.engine, migration };
  } catch (error) {
    await database.destroy();
    throw error;
  }
}

/** A database of the SQLite-only releases already has the baseline's tables. */
async function markBaselineApplied(database: Database): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,
    name TEXT NOT NULL, compatible_from INTEGER NOT NULL, applied_at TEXT NOT NULL)`.execute(
    database,
  );
  await database
    .insertInto('schema_migrations')
    .values({
      version: 1,
      name: 'baseline',
      compatible_from: 1,
      applied_at: new Date().toISOString(),
    })
    .onConflict((conflict) => conflict.doNothing())
    .execute();
}

/** PostgreSQL SQLSTATE classes and codes of a server that is gone, starting or shutting down. */
const UNAVAILABLE_STATES = /^(08|57P0[1-4]|53300)/;
/** Node socket errors of a server that cannot be reached. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE']);

/**
 * True if an error says the database cannot answer now (PostgreSQL down, restarting or out of
 * connections; SQLite locked past its busy timeout), not that a query is wrong: the request may
 * be retried.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    if (UNAVAILABLE_STATES.test(code) || UNREACHABLE.has(code)) return true;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(
    message,
  );
}

/** True if a driver error is a unique-constraint violation (either engine). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === '23505'
  );
}

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, inject } from 'vitest';
import { type DatabaseLocation, openDatabase, type OpenedDatabase } from '../src/store/database';
import { type Migration, MIGRATIONS } from '../src/store/migrations';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgresql` in the project that runs the suites on PostgreSQL; else unset (SQLite). */
    databaseEngine?: 'postgresql';
    /** The PostgreSQL server of that project (test/postgres-global-setup.ts). */
    postgresUrl?: string;
  }
}

/** The engine this test project runs DTR on. */
export function testEngine(): 'sqlite' | 'postgresql' {
  return inject('databaseEngine') === 'postgresql' ? 'postgresql' : 'sqlite';
}

/** A database for one test, on the project's engine, and how to remove it. */
export interface TestDatabase {
  readonly location: DatabaseLocation;
  /** The `database:` section of a DTR configuration that uses it. */
  readonly yaml: string;
  drop(): Promise<void>;
}

async function onServer(statement: string): Promise<void> {
  const server = inject('postgresUrl');
  if (server === undefined) throw new Error('no PostgreSQL server was provided to this project');
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A new, empty database: an SQLite file in `directory` (in memory without one), or a new database on the project's
 * PostgreSQL server (dropped by `drop`, with any connection still open to it).
 */
export async function createTestDatabase(directory?: string): Promise<TestDatabase> {
  if (testEngine() === 'sqlite') {
    const path = directory === undefined ? ':memory:' : join(directory, 'dtr.sqlite');
    return {
      location: { engine: 'sqlite', path },
      yaml: `database: { path: ${path} }`,
      drop: async () => undefined,
    };
  }
  const name = `dtr_${randomBytes(8).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(inject('postgresUrl') as string);
  url.pathname = `/${name}`;
  return {
    location: { engine: 'postgresql', url: url.href },
    yaml: `database: { url: "${url.href}" }`,
    drop: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** A new database on the project's engine, opened and migrated; `close` closes and drops it. */
export async function openTestDatabase(
  directory?: string,
): Promise<OpenedDatabase & { close(): Promise<void> }> {
  const created = await createTestDatabase(directory);
  const opened = await openDatabase(created.location);
  return {
    ...opened,
    async close() {
      await opened.database.destroy();
      await created.drop();
    },
  };
}

/**
 * A new database for each test of the calling suite (in a folder of its own), opened with the
 * migrations a test chooses (schema upgrades are tested by opening with fewer, then all);
 * everything opened is closed, and the database dropped, after each test.
 */
export function databasePerTest(prefix: string): {
  open(migrations?: readonly Migration[]): Promise<OpenedDatabase>;
  /** Closes what this test opened so far (before opening it again with other migrations). */
  closeAll(): Promise<void>;
} {
  let directory: string;
  let created: TestDatabase;
  const opened: OpenedDatabase[] = [];
  const closeAll = async () => {
    for (const one of opened.splice(0)) await one.database.destroy();
  };
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), prefix));
    created = await createTestDatabase(directory);
  });
  afterEach(async () => {
    await closeAll();
    await created.drop();
    await rm(directory, { recursive: true, force: true });
  });
  return {
    async open(migrations = MIGRATIONS) {
      const one = await openDatabase(created.location, { migrations });
      opened.push(one);
      return one;
    },
    closeAll,
  };
}

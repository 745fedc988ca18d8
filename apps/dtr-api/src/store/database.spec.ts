import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, testEngine } from '../../test/test-database';
import { AccountStore } from './account-store';
import { openDatabase } from './database';
import { LEGACY_MIGRATIONS } from './legacy-sqlite';
import { MembershipStore } from './membership-store';
import { type Migration, MIGRATIONS } from './migrations';
import { IncompatibleSchemaError } from './migrator';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dtr-db-'));
});
afterEach(() => rm(directory, { recursive: true, force: true }));

// SQLite files only: defined in the project whose engine is SQLite.
if (testEngine() === 'sqlite')
  describe('a database of the SQLite-only releases', () => {
    /** A database at their schema version 3 (before roles and never-reused ids), with an organization. */
    function versionThree(path: string): void {
      const old = new BetterSqlite3(path);
      for (const migration of LEGACY_MIGRATIONS.slice(0, 3)) old.exec(migration);
      old.pragma('user_version = 3');
      const insert = old.prepare(
        'INSERT INTO accounts (id, name, kind, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?, 0, ?)',
      );
      insert.run(1, 'admin', 'user', 'x', '2026-01-01T00:00:00Z');
      insert.run(2, 'team', 'organization', null, '2026-01-01T00:00:00Z');
      insert.run(3, 'alice', 'user', 'x', '2026-01-01T00:00:00Z');
      insert.run(9, 'zed', 'user', 'x', '2026-01-01T00:00:00Z');
      old.prepare('INSERT INTO memberships (organization_id, user_id) VALUES (2, 3)').run();
      old
        .prepare(
          "INSERT INTO repositories (namespace_id, name, visibility, created_at) VALUES (2, 'app', 'private', '2026-01-01T00:00:00Z')",
        )
        .run();
      old
        .prepare(
          "INSERT INTO content_caches (id, name, host, created_at) VALUES (4, 'east', 'http://127.0.0.2:5000', '2026-01-01T00:00:00Z')",
        )
        .run();
      old.close();
    }

    const repositoryCount = async (database: Awaited<ReturnType<typeof openDatabase>>) =>
      (
        await database.database
          .selectFrom('repositories')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n;

    // (SQLite files only: defined in the SQLite project, where the file is the project's engine.)
    it('keeps every row and reference, makes existing members "member", never reuses ids, and joins the versioned migrations at their baseline', async () => {
      const path = join(directory, 'dtr.sqlite');
      versionThree(path);
      const opened = await openDatabase({ engine: 'sqlite', path });
      try {
        const applied = await opened.database
          .selectFrom('schema_migrations')
          .select(['version', 'name'])
          .execute();
        expect(applied).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
        expect(opened.migration.applied).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
        const accounts = new AccountStore(opened.database);
        const memberships = new MembershipStore(opened.database);
        const team = await accounts.find('team');
        expect(team).toMatchObject({ id: 2, kind: 'organization', generation: 1 });
        expect(
          (await memberships.members(team as never)).map(({ user, role }) => [user.name, role]),
        ).toEqual([['alice', 'member']]);
        expect(await repositoryCount(opened)).toBe(1);
        // The highest id (9) deleted: the next account still gets a new one.
        expect(await accounts.delete('zed')).toBe(true);
        expect(
          (await accounts.create({ name: 'newcomer', kind: 'user', passwordHash: 'x' })).id,
        ).toBe(10);
        // Foreign keys hold after the rebuild: deleting the organization takes its repository.
        expect(await accounts.delete('team')).toBe(true);
        expect(await repositoryCount(opened)).toBe(0);
      } finally {
        await opened.database.destroy();
      }
      // Opened again: nothing more to apply.
      const again = await openDatabase({ engine: 'sqlite', path });
      expect(again.migration.applied).toEqual([]);
      await again.database.destroy();
    });
  });

describe(`versioned migrations (${testEngine()})`, () => {
  /** A later release's migration: adds a table, and keeps releases from `compatibleFrom` working. */
  const later = (version: number, compatibleFrom: number): Migration => ({
    version,
    name: `later-${version}`,
    compatibleFrom,
    async up(database) {
      await database.schema
        .createTable(`later_${version}`)
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .execute();
    },
  });

  // Replicas share a database only on PostgreSQL, so this is defined in that project only (SQLite
  // is one process's database; in one process its synchronous driver would wait for its own lock).
  if (testEngine() === 'postgresql')
    it('applies each migration once when replicas start at the same moment', async () => {
      const created = await createTestDatabase(directory);
      try {
        const opened = await Promise.all(
          Array.from({ length: 4 }, () => openDatabase(created.location)),
        );
        const applied = opened.map((one) => one.migration.applied);
        expect(applied.filter((versions) => versions.length > 0)).toEqual([
          MIGRATIONS.map((m) => m.version),
        ]);
        const rows = await (opened[0] as (typeof opened)[number]).database
          .selectFrom('schema_migrations')
          .select('version')
          .execute();
        expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version));
        await Promise.all(opened.map((one) => one.database.destroy()));
      } finally {
        await created.drop();
      }
    });

  it('keeps running against a newer compatible schema (a rolling upgrade) and refuses one it cannot work with, saying why', async () => {
    const created = await createTestDatabase(directory);
    try {
      const current = MIGRATIONS.at(-1)?.version ?? 0;
      // A newer release adds a table, compatible with this one: this release still starts.
      const newer = await openDatabase(created.location, {
        migrations: [...MIGRATIONS, later(current + 1, current)],
      });
      await newer.database.destroy();
      const old = await openDatabase(created.location);
      expect(old.migration).toEqual({ applied: [], databaseVersion: current + 1 });
      const accounts = new AccountStore(old.database);
      await accounts.create({ name: 'still-works', kind: 'user', passwordHash: 'x' });
      await old.database.destroy();
      // A release after it contracts the schema: this release refuses to start, and changes nothing.
      const newest = await openDatabase(created.location, {
        migrations: [...MIGRATIONS, later(current + 1, current), later(current + 2, current + 2)],
      });
      await newest.database.destroy();
      const refused = openDatabase(created.location);
      await expect(refused).rejects.toBeInstanceOf(IncompatibleSchemaError);
      await expect(refused).rejects.toThrow(
        `the database schema is at version ${current + 2}, which works only with code written for schema version ${current + 2} or later; this dtr-api knows schema version ${current}`,
      );
    } finally {
      await created.drop();
    }
  });

  it('rolls a failing migration back entirely', async () => {
    const created = await createTestDatabase(directory);
    try {
      const current = MIGRATIONS.at(-1)?.version ?? 0;
      const failing: Migration = {
        ...later(current + 1, current),
        async up(database, engine) {
          await later(current + 1, current).up(database, engine);
          await sql`select * from no_such_table`.execute(database);
        },
      };
      await expect(
        openDatabase(created.location, { migrations: [...MIGRATIONS, failing] }),
      ).rejects.toThrow(/no_such_table|no such table/);
      const after = await openDatabase(created.location);
      expect(after.migration.applied).toEqual(MIGRATIONS.map((m) => m.version));
      await expect(
        sql`select * from ${sql.table(`later_${current + 1}`)}`.execute(after.database),
      ).rejects.toThrow();
      await after.database.destroy();
    } finally {
      await created.drop();
    }
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountStore } from './account-store';
import { MIGRATIONS, openDatabase } from './database';
import { MembershipStore } from './membership-store';

describe('openDatabase migrations', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'dtr-db-'));
  });
  afterEach(() => rm(directory, { recursive: true, force: true }));

  /** A database at schema version 3 (before roles and never-reused ids), with an organization. */
  function versionThree(path: string): void {
    const old = new BetterSqlite3(path);
    for (const migration of MIGRATIONS.slice(0, 3)) old.exec(migration);
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

  it('keeps every row and reference, makes existing members "member", and never reuses ids', () => {
    const path = join(directory, 'dtr.sqlite');
    versionThree(path);
    const database = openDatabase(path);
    try {
      expect(database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const accounts = new AccountStore(database);
      const memberships = new MembershipStore(database);
      const team = accounts.find('team');
      expect(team).toMatchObject({ id: 2, kind: 'organization', generation: 1 });
      expect(memberships.members(team as never).map(({ user, role }) => [user.name, role])).toEqual(
        [['alice', 'member']],
      );
      expect(database.prepare('SELECT COUNT(*) AS n FROM repositories').get()).toEqual({ n: 1 });
      // The highest id (9) deleted: the next account still gets a new one.
      expect(accounts.delete('zed')).toBe(true);
      expect(accounts.create({ name: 'newcomer', kind: 'user', passwordHash: 'x' }).id).toBe(10);
      // Foreign keys hold after the rebuild: deleting the organization takes its repository.
      expect(accounts.delete('team')).toBe(true);
      expect(database.prepare('SELECT COUNT(*) AS n FROM repositories').get()).toEqual({ n: 0 });
      expect(database.pragma('foreign_keys', { simple: true })).toBe(1);
    } finally {
      database.close();
    }
  });
});

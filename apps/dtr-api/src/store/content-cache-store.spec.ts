import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { databasePerTest } from '../../test/test-database';
import { openDatabase, type OpenedDatabase } from './database';
import { LEGACY_FINAL_VERSION, LEGACY_MIGRATIONS } from './legacy-sqlite';
import { ContentCacheStore, MAX_CACHE_MEMBERS } from './content-cache-store';
import { MIGRATIONS } from './migrations';

const { open, closeAll } = databasePerTest('dtr-caches-');

async function account(database: OpenedDatabase, name: string): Promise<{ id: number }> {
  return database.database
    .insertInto('accounts')
    .values({ name, kind: 'user', password_hash: 'x', created_at: new Date().toISOString() })
    .returning('id')
    .executeTakeFirstOrThrow();
}

describe('schema 6 (cache groups) on a database of schema 5', () => {
  it('makes every cache a group of its host, and keeps "no cache" for users who had cleared it', async () => {
    const before = await open(MIGRATIONS.filter((migration) => migration.version <= 5));
    const east = await before.database
      .insertInto('content_caches')
      .values({ name: 'east', host: 'https://east.example:5000', created_at: 'then' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const [chose, cleared, never] = [
      await account(before, 'chose'),
      await account(before, 'cleared'),
      await account(before, 'never'),
    ];
    await before.database
      .insertInto('account_settings')
      .values([
        { account_id: chose.id, content_cache_id: east.id },
        { account_id: cleared.id, content_cache_id: null },
      ])
      .execute();
    await closeAll();

    const after = await open(MIGRATIONS.filter((migration) => migration.version <= 6));
    expect(after.migration.applied).toEqual([6]);
    const caches = new ContentCacheStore(after.database);
    expect(await caches.findByName('east')).toMatchObject({
      host: 'https://east.example:5000',
      hosts: ['https://east.example:5000'],
      networks: [],
    });
    expect(await caches.choiceOf(chose)).toMatchObject({ kind: 'cache', cache: { name: 'east' } });
    expect(await caches.choiceOf(cleared)).toEqual({ kind: 'none' });
    expect(await caches.choiceOf(never)).toEqual({ kind: 'automatic' });
  });
});

describe('schema 6 with a replica of schema 5 still running (a rolling upgrade)', () => {
  it('reads a cache the previous version registered or re-hosted as the group of its host', async () => {
    const database = await open();
    const caches = new ContentCacheStore(database.database);
    const user = await account(database, 'user');
    // The previous version registers a cache: a row with its host, no member rows.
    const west = await database.database
      .insertInto('content_caches')
      .values({ name: 'west', host: 'https://west.example:5000', created_at: 'then' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await database.database
      .insertInto('account_settings')
      .values({ account_id: user.id, content_cache_id: west.id })
      .execute();
    expect(await caches.findByName('west')).toMatchObject({
      host: 'https://west.example:5000',
      hosts: ['https://west.example:5000'],
    });
    expect(await caches.choiceOf(user)).toMatchObject({
      kind: 'cache',
      cache: { hosts: ['https://west.example:5000'] },
    });

    // The previous version moves a group (registered by this version) to another host.
    const group = await caches.create('office', ['https://a.example', 'https://b.example'], []);
    await database.database
      .updateTable('content_caches')
      .set({ host: 'https://moved.example' })
      .where('id', '=', group.id)
      .execute();
    expect(await caches.find(group.id)).toMatchObject({
      host: 'https://moved.example',
      hosts: ['https://moved.example'],
    });
    expect((await caches.list()).map((cache) => cache.hosts)).toEqual([
      ['https://moved.example'],
      ['https://west.example:5000'],
    ]);
  });
});

describe('ContentCacheStore groups', () => {
  it('keeps members in order, replaces them (the first becomes host), and networks', async () => {
    const database = await open();
    const caches = new ContentCacheStore(database.database);
    const group = await caches.create(
      'office',
      ['https://b.example', 'https://a.example', 'https://c.example'],
      ['10.0.0.0/8'],
    );
    expect(await caches.find(group.id)).toEqual(group);
    expect(group.host).toBe('https://b.example');
    const changed = await caches.update(group.id, {
      hosts: ['https://c.example', 'https://d.example'],
      networks: ['2001:db8::/32', '10.20.0.0/16'],
    });
    expect(changed).toMatchObject({
      host: 'https://c.example',
      hosts: ['https://c.example', 'https://d.example'],
      networks: ['10.20.0.0/16', '2001:db8::/32'],
    });
    const row = await database.database
      .selectFrom('content_caches')
      .select('host')
      .where('id', '=', group.id)
      .executeTakeFirstOrThrow();
    // The previous release reads this column: it follows the first member.
    expect(row.host).toBe('https://c.example');
    expect(await caches.update(999_999, { hosts: ['https://x.example'] })).toBeUndefined();
  });

  it('refuses no members, too many, and one twice', async () => {
    const caches = new ContentCacheStore((await open()).database);
    await expect(caches.create('none', [])).rejects.toThrow(/1 to 32 members/);
    const many = Array.from({ length: MAX_CACHE_MEMBERS + 1 }, (_, i) => `https://m${i}.example`);
    await expect(caches.create('many', many)).rejects.toThrow(/1 to 32 members/);
    await expect(
      caches.create('twice', ['https://a.example', 'https://a.example']),
    ).rejects.toThrow(/listed twice/);
    expect(await caches.list()).toEqual([]);
  });

  it('sends users of a deleted cache back to automatic, and keeps an explicit none', async () => {
    const database = await open();
    const caches = new ContentCacheStore(database.database);
    const [chose, none] = [await account(database, 'chose'), await account(database, 'none')];
    const doomed = await caches.create('doomed', ['https://d.example']);
    await caches.setChoice(chose, doomed);
    await caches.setChoice(none, 'none');
    expect(await caches.cacheOf(chose)).toMatchObject({ name: 'doomed' });
    await caches.delete(doomed.id);
    expect(await caches.choiceOf(chose)).toEqual({ kind: 'automatic' });
    expect(await caches.choiceOf(none)).toEqual({ kind: 'none' });
  });
});

describe('content cache ids', () => {
  it("never gives a deleted cache's id again, also on a database of the SQLite-only releases", async () => {
    // (Their first content_caches table gave a deleted last row's id to the next one.)
    const directory = await mkdtemp(join(tmpdir(), 'dtr-cache-ids-'));
    const path = join(directory, 'legacy.sqlite');
    const legacy = new BetterSqlite3(path);
    for (const migration of LEGACY_MIGRATIONS) legacy.exec(migration);
    legacy.pragma(`user_version = ${LEGACY_FINAL_VERSION}`);
    legacy.close();
    const opened = await openDatabase({ engine: 'sqlite', path });
    try {
      const caches = new ContentCacheStore(opened.database);
      await caches.create('first', ['https://first.example']);
      const last = await caches.create('last', ['https://last.example']);
      expect(await caches.delete(last.id)).toBe(true);
      const next = await caches.create('next', ['https://next.example']);
      expect(next.id).toBeGreaterThan(last.id);
    } finally {
      await opened.database.destroy();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('refuses a member host of another cache, on create and on update', async () => {
    const caches = new ContentCacheStore((await open()).database);
    const first = await caches.create('first', ['https://a.example', 'https://b.example']);
    await expect(caches.create('second', ['https://b.example'])).rejects.toMatchObject({
      code: 'CONFLICT',
      detail: { host: 'https://b.example', contentCache: 'first' },
    });
    const second = await caches.create('second', ['https://c.example']);
    await expect(caches.update(second.id, { hosts: ['https://a.example'] })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    // Its own members are no conflict.
    expect(await caches.update(first.id, { hosts: ['https://b.example'] })).toMatchObject({
      hosts: ['https://b.example'],
    });
  });
});

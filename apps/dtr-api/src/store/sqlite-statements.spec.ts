import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withStatementCache } from './sqlite-statements';

let handle: BetterSqlite3.Database;
afterEach(() => handle.close());

describe('withStatementCache', () => {
  it('prepares each SQL text once and answers from the reused statement', () => {
    handle = new BetterSqlite3(':memory:');
    handle.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
    const prepare = vi.spyOn(handle, 'prepare');
    const database = withStatementCache(handle);
    database.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run([1, 'one']);
    database.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run([2, 'two']);
    for (const k of [1, 2, 1])
      expect(database.prepare('SELECT v FROM t WHERE k = ?').all([k])).toEqual([
        { v: k === 1 ? 'one' : 'two' },
      ]);
    expect(prepare).toHaveBeenCalledTimes(2);
  });

  it('keeps at most its capacity, dropping the least recently used statement', () => {
    handle = new BetterSqlite3(':memory:');
    const prepare = vi.spyOn(handle, 'prepare');
    const database = withStatementCache(handle, 2);
    for (const sql of ['SELECT 1', 'SELECT 2', 'SELECT 1', 'SELECT 3', 'SELECT 1', 'SELECT 2'])
      database.prepare(sql);
    // SELECT 2 was the least recently used when SELECT 3 came, so it is prepared again.
    expect(prepare.mock.calls.map(([sql]) => sql)).toEqual([
      'SELECT 1',
      'SELECT 2',
      'SELECT 3',
      'SELECT 2',
    ]);
  });

  it('still answers after the schema changed under a cached statement', () => {
    handle = new BetterSqlite3(':memory:');
    handle.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
    const database = withStatementCache(handle);
    expect(database.prepare('SELECT * FROM t').all([])).toEqual([]);
    handle.exec("ALTER TABLE t ADD COLUMN v TEXT; INSERT INTO t VALUES (1, 'one')");
    expect(database.prepare('SELECT * FROM t').all([])).toEqual([{ k: 1, v: 'one' }]);
  });
});

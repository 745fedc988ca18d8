import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Distinct SQL texts whose prepared statements are kept (least recently used ones go first). */
export const CACHED_STATEMENTS = 256;

/**
 * The SQLite handle as Kysely's dialect sees it, with each SQL text prepared once and the statement
 * reused (Kysely prepares every query anew, which costs more than running a lookup by key). Safe
 * because Kysely runs one query at a time on the one connection. SQLite re-prepares a statement
 * itself when the schema changed under it.
 */
export function withStatementCache(
  handle: BetterSqlite3.Database,
  capacity = CACHED_STATEMENTS,
): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => handle.close(),
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement) statements.delete(sql);
      else statement = handle.prepare(sql);
      statements.set(sql, statement);
      if (statements.size > capacity) statements.delete(statements.keys().next().value as string);
      return statement;
    },
  };
}

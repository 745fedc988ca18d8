import { type Kysely, sql } from 'kysely';
import type { DatabaseEngine, DtrSchema } from './schema';

/** DTR's tables in an order that keeps every reference valid while rows are inserted. */
export const COPIED_TABLES = [
  'accounts',
  'memberships',
  'repositories',
  'repository_blobs',
  'manifests',
  'tags',
  'content_caches',
  'content_cache_members',
  'content_cache_networks',
  'cache_health',
  'cache_member_health',
  'account_settings',
  'grant_keys',
  'token_keys',
  'sessions',
  'upload_sessions',
  'auth_failures',
  'content_cache_pulls',
  'cache_stats_samples',
  'cache_sample_slots',
] as const satisfies ReadonlyArray<keyof DtrSchema>;

/**
 * The one table not copied: `maintenance_leases` holds who runs garbage collection now, and a
 * lease means nothing once DTR was stopped for the move.
 */
export const UNCOPIED_TABLES = ['maintenance_leases'] as const satisfies ReadonlyArray<
  keyof DtrSchema
>;

/**
 * Tables with an integer id counter, carried over: the next id continues after the highest the
 * source ever gave (accounts, repositories and caches never reuse an id).
 */
const COUNTED_IDS = ['accounts', 'repositories', 'content_caches', 'cache_stats_samples'] as const;

/** Rows of each table, in {@link COPIED_TABLES} order. */
export type RowCounts = Record<(typeof COPIED_TABLES)[number], number>;

/** Rows inserted per statement (well below either engine's limit on bound parameters). */
const BATCH = 200;

/** The rows of every table. */
export async function countRows(database: Kysely<DtrSchema>): Promise<RowCounts> {
  const counts = {} as RowCounts;
  for (const table of COPIED_TABLES) {
    const row = await database
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.count);
  }
  return counts;
}

/** The next id SQLite would give in each counted table (AUTOINCREMENT remembers deleted ones). */
async function idHighWaterMarks(
  database: Kysely<DtrSchema>,
  engine: DatabaseEngine,
): Promise<Record<(typeof COUNTED_IDS)[number], number>> {
  const marks = { accounts: 0, repositories: 0, content_caches: 0, cache_stats_samples: 0 };
  for (const table of COUNTED_IDS) {
    const row = await database
      .selectFrom(table)
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    marks[table] = Number(row?.id ?? 0);
  }
  if (engine === 'sqlite') {
    const { rows } = await sql<{
      name: string;
      seq: number;
    }>`select name, seq from sqlite_sequence`.execute(database);
    for (const { name, seq } of rows)
      if (name in marks)
        marks[name as keyof typeof marks] = Math.max(marks[name as keyof typeof marks], seq);
  }
  return marks;
}

/**
 * Copies every row of `source` into `target` (both migrated to the same schema), in one
 * transaction on the target: either all of it is there afterwards, or none. Ids are kept, and the
 * target's id counters continue after the highest id the source ever gave (a deleted account's id
 * is not given again). Returns the rows copied per table.
 * @throws Error if the target already holds accounts (it would mix two registries).
 */
export async function copyDatabase(
  source: { database: Kysely<DtrSchema>; engine: DatabaseEngine },
  target: { database: Kysely<DtrSchema>; engine: DatabaseEngine },
): Promise<RowCounts> {
  const existing = await target.database
    .selectFrom('accounts')
    .select('id')
    .limit(1)
    .executeTakeFirst();
  if (existing) throw new Error('the target database is not empty: it already has accounts');
  const marks = await idHighWaterMarks(source.database, source.engine);
  const copied = {} as RowCounts;
  await target.database.transaction().execute(async (transaction) => {
    for (const table of COPIED_TABLES) {
      copied[table] = 0;
      // Keyset pages would need each table's key; offset pages over a snapshot are as exact here
      // (nothing writes to the source while it is copied) and the tables are small.
      for (let offset = 0; ; offset += BATCH) {
        const rows = await source.database
          .selectFrom(table)
          .selectAll()
          .orderBy(sql`1`)
          .limit(BATCH)
          .offset(offset)
          .execute();
        if (rows.length === 0) break;
        await transaction
          .insertInto(table)
          .values(rows as never)
          .execute();
        copied[table] += rows.length;
        if (rows.length < BATCH) break;
      }
    }
    for (const table of COUNTED_IDS) {
      const next = marks[table];
      if (next === 0) continue;
      if (target.engine === 'postgresql') {
        await sql`select setval(pg_get_serial_sequence(${table}, 'id'), ${next})`.execute(
          transaction,
        );
      } else {
        await sql`delete from sqlite_sequence where name = ${table}`.execute(transaction);
        await sql`insert into sqlite_sequence (name, seq) values (${table}, ${next})`.execute(
          transaction,
        );
      }
    }
  });
  return copied;
}

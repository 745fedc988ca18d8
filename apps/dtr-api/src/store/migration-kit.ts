import { type ColumnDefinitionBuilder, type Kysely, sql } from 'kysely';
import type { DatabaseEngine } from './schema';

/**
 * One step of the schema, the same on both engines (Kysely's schema builder; the few differences
 * are the helpers below). Migrations are expand-then-contract: one that only adds (tables,
 * nullable columns, indexes) keeps `compatibleFrom` at the version before it, so replicas of the
 * previous release keep running while they are replaced; one that removes or changes what older
 * code uses raises it to its own version, and older replicas then refuse to start, saying why.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The oldest schema version whose code still works once this migration is applied. */
  readonly compatibleFrom: number;
  up(database: Kysely<unknown>, engine: DatabaseEngine): Promise<void>;
}

export type Column = (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;

/** Column helpers that hide the engines' differences. */
export function columns(engine: DatabaseEngine) {
  return {
    /** A never-reused integer key (SQLite AUTOINCREMENT; a PostgreSQL identity). */
    id: ((column) =>
      engine === 'postgresql'
        ? column.primaryKey().generatedByDefaultAsIdentity()
        : column.primaryKey().autoIncrement()) as Column,
    /**
     * Text compared and ordered byte by byte, as SQLite does and the distribution spec wants for
     * tag and catalog order (PostgreSQL would otherwise use the database's locale).
     */
    bytewise: ((column) =>
      engine === 'postgresql' ? column.modifyFront(sql`collate "C"`) : column) as Column,
  };
}

/**
 * Adds nullable text columns to `table`, one statement each (SQLite alters one column at a time):
 * the additive step that keeps the previous release working.
 */
export async function addNullableText(
  database: Kysely<unknown>,
  table: string,
  names: readonly string[],
): Promise<void> {
  for (const name of names)
    await database.schema.alterTable(table).addColumn(name, 'text').execute();
}

import { existsSync } from 'node:fs';
import { copyDatabase, COPIED_TABLES, countRows, UNCOPIED_TABLES } from './store/copy-database';
import { type DatabaseLocation, openDatabase, type OpenedDatabase } from './store/database';

/** How `dtr-api migrate-db` is called. */
export const MIGRATE_DB_USAGE =
  'usage: dtr-api migrate-db --from <sqlite file> --to <postgres://user:password@host:port/database>';

/** Where the command prints its lines. */
export interface CommandOutput {
  line(text: string): void;
}

function parseArguments(args: readonly string[]): { from: string; to: string } | undefined {
  const options = new Map<string, string>();
  for (let index = 0; index < args.length; index += 2) {
    const name = args[index];
    const value = args[index + 1];
    if ((name !== '--from' && name !== '--to') || value === undefined || options.has(name))
      return undefined;
    options.set(name, value);
  }
  const from = options.get('--from');
  const to = options.get('--to');
  return from === undefined || to === undefined ? undefined : { from, to };
}

function targetOf(url: string): DatabaseLocation {
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new Error(`--to must be a postgres:// URL, not "${url}"`);
  return { engine: 'postgresql', url };
}

/**
 * `dtr-api migrate-db --from <sqlite file> --to <postgres url>`: copies DTR's SQLite database
 * into an empty PostgreSQL database (both brought to the current schema first), in one
 * transaction, then checks that every table has as many rows on both sides. Run it with DTR
 * stopped; then start DTR with `database.url`. Blobs stay where they are (the storage root).
 * Returns the exit code: 0 copied and checked, 1 failed (nothing is left half-copied), 2 usage.
 */
export async function migrateDbCommand(
  args: readonly string[],
  output: CommandOutput,
): Promise<number> {
  const parsed = parseArguments(args);
  if (!parsed) {
    output.line(MIGRATE_DB_USAGE);
    return 2;
  }
  let source: OpenedDatabase | undefined;
  let target: OpenedDatabase | undefined;
  try {
    const to = targetOf(parsed.to);
    if (!parsed.from.startsWith('/')) throw new Error('--from must be an absolute path');
    if (!existsSync(parsed.from)) throw new Error(`--from: no such file ${parsed.from}`);
    source = await openDatabase({ engine: 'sqlite', path: parsed.from });
    target = await openDatabase(to, { poolSize: 2 });
    const copied = await copyDatabase(source, target);
    for (const table of COPIED_TABLES) output.line(`${table}: ${copied[table]} rows copied`);
    for (const table of UNCOPIED_TABLES)
      output.line(
        `${table}: not copied (a lease of a run under way; none runs while DTR is stopped)`,
      );
    const [before, after] = await Promise.all([
      countRows(source.database),
      countRows(target.database),
    ]);
    const differing = COPIED_TABLES.filter((table) => before[table] !== after[table]);
    if (differing.length > 0)
      throw new Error(
        `row counts differ after the copy: ${differing
          .map((table) => `${table} ${before[table]} → ${after[table]}`)
          .join(', ')}`,
      );
    output.line(
      `checked: every copied table has as many rows in PostgreSQL as in SQLite; start DTR with database.url`,
    );
    return 0;
  } catch (error) {
    output.line(`dtr-api migrate-db: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await source?.database.destroy();
    await target?.database.destroy();
  }
}

import { DriverBlobStore, FilesystemDriver } from '@dtr-cache/blob-store';
import { ConfigError, type Duration, parseDuration } from '@dtr-cache/config';
import { silentLogger } from '@dtr-cache/logging';
import { type DtrConfig, loadDtrConfig } from './dtr-config';
import { type CollectedBlob, GarbageCollector } from './gc/garbage-collector';
import type { CommandOutput } from './migrate-db-command';
import { openDatabase, type OpenedDatabase } from './store/database';

/** How `dtr-api garbage-collect` is called. */
export const GARBAGE_COLLECT_USAGE =
  'usage: dtr-api garbage-collect --config <config.yml> [--dry-run] [--grace <duration>]';

/** PostgreSQL connections the command uses: one holds the lock, the others query. */
const POOL_SIZE = 3;

interface Arguments {
  readonly config: string;
  readonly dryRun: boolean;
  readonly grace: Duration | undefined;
}

function parseArguments(args: readonly string[]): Arguments | string {
  let config: string | undefined;
  let dryRun = false;
  let grace: Duration | undefined;
  for (let index = 0; index < args.length; index += 1) {
    const name = args[index];
    if (name === '--dry-run' && !dryRun) dryRun = true;
    else if (name === '--config' && config === undefined && args[index + 1] !== undefined)
      config = args[++index];
    else if (name === '--grace' && grace === undefined && args[index + 1] !== undefined) {
      try {
        grace = parseDuration(args[++index]);
      } catch (error) {
        return `--grace: ${(error as Error).message}`;
      }
    } else return GARBAGE_COLLECT_USAGE;
  }
  return config === undefined ? GARBAGE_COLLECT_USAGE : { config, dryRun, grace };
}

/** The grace period: the option's, else the configuration's (`garbagecollection.grace`). */
function graceOf(parsed: Arguments, config: DtrConfig): Duration {
  return parsed.grace ?? config.garbageCollection.grace;
}

function describe(blob: CollectedBlob, dryRun: boolean): string {
  return `${dryRun ? 'would delete' : 'deleted'} ${blob.digest} ${blob.size} bytes`;
}

/**
 * `dtr-api garbage-collect --config <config.yml> [--dry-run] [--grace <duration>]`: deletes the
 * blobs of DTR's storage root that no manifest keeps (see docs/garbage-collection.md), beside
 * running replicas, printing each blob deleted and the bytes freed; with `--dry-run`, what it would
 * delete, deleting nothing. Returns the exit code: 0 done, 1 failed or another run holds the lock
 * (nothing more done), 2 usage or configuration error.
 */
export async function garbageCollectCommand(
  args: readonly string[],
  output: CommandOutput,
): Promise<number> {
  const parsed = parseArguments(args);
  if (typeof parsed === 'string') {
    output.line(parsed);
    return 2;
  }
  let config: DtrConfig;
  try {
    config = loadDtrConfig({ file: parsed.config });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.line(error.message);
    return 2;
  }
  const fail = (message: string) => {
    output.line(`dtr-api garbage-collect: ${message}`);
    return 1;
  };
  const storage = config.storage.driver;
  if (storage.kind !== 'filesystem')
    return fail('storage.inmemory keeps blobs in the server process: there is nothing to collect');
  const grace = graceOf(parsed, config);
  if (grace.milliseconds <= config.uploads.idleTimeout.milliseconds)
    return fail(
      `--grace ${grace.text} must be longer than registry.uploads.idletimeout (${config.uploads.idleTimeout.text}): an upload may rest that long before its blob is stored`,
    );
  const driver = new FilesystemDriver(storage.rootDirectory);
  let opened: OpenedDatabase | undefined;
  try {
    opened = await openDatabase(config.database, {
      // The lock holds one connection for the whole run; the queries need another.
      poolSize: POOL_SIZE,
    });
    const collector = new GarbageCollector({
      database: opened.database,
      engine: opened.engine,
      blobs: new DriverBlobStore(driver),
      logger: silentLogger,
    });
    const result = await collector.run({
      dryRun: parsed.dryRun,
      graceMs: grace.milliseconds,
      onBlob: (blob) => output.line(describe(blob, parsed.dryRun)),
    });
    if (result.status === 'busy')
      return fail('garbage collection already running (another process holds its lock)');
    const { report } = result;
    const count = `${report.removed.length} blob${report.removed.length === 1 ? '' : 's'}`;
    output.line(
      report.dryRun
        ? `would free ${report.bytes} bytes (${count}); nothing was deleted`
        : `freed ${report.bytes} bytes (${count})`,
    );
    output.line(
      `${report.manifests} manifests read, ${report.blobs} blobs stored; ${report.kept} ` +
        `unreferenced kept: stored, linked or used since ${report.cutoff.toISOString()} ` +
        `(grace ${grace.text})`,
    );
    return 0;
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  } finally {
    await driver.close();
    await opened?.database.destroy();
  }
}

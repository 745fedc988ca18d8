import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Database, DatabaseEngine } from '../store/schema';

/** A run of garbage collection that lost its lock: it must stop before deleting anything more. */
export class GcLockLostError extends Error {
  constructor() {
    super('garbage collection lost its lock (database connection or lease lost): stopped');
    this.name = 'GcLockLostError';
  }
}

/** The lock of one run, held until released. */
export interface GcLockHold {
  /** @throws GcLockLostError if the lock is no longer held. */
  check(): Promise<void>;
  /** Releases the lock; never rejects. */
  release(): Promise<void>;
}

/** Options of {@link acquireGcLock}. */
export interface GcLockOptions {
  /** SQLite: how long the lease holds unless renewed (renewed every third of it). */
  readonly leaseMs?: number;
}

/** Any number; PostgreSQL's advisory lock key of garbage collection (migrations use 0x64747201). */
const GC_LOCK_KEY = 0x64747202;
/** The lease's name in `maintenance_leases`. */
const LEASE = 'garbage-collection';
const DEFAULT_LEASE_MS = 60_000;

/**
 * Takes the lock that keeps garbage collection to one run at a time, across the processes and
 * replicas sharing the database, without waiting: undefined if another run holds it.
 * PostgreSQL: a session-level advisory lock on a connection of its own, kept for the run (it ends
 * with the connection, so a run that dies releases it at once). SQLite: a lease row, renewed while
 * the run lasts (a dead run's lease runs out).
 */
export function acquireGcLock(
  database: Database,
  engine: DatabaseEngine,
  options: GcLockOptions = {},
): Promise<GcLockHold | undefined> {
  return engine === 'postgresql'
    ? advisoryLock(database)
    : leaseLock(database, options.leaseMs ?? DEFAULT_LEASE_MS);
}

function advisoryLock(database: Database): Promise<GcLockHold | undefined> {
  return new Promise((resolve, reject) => {
    let acquired = false;
    const held = database.connection().execute(async (connection) => {
      const { rows } = await sql<{
        locked: boolean;
      }>`select pg_try_advisory_lock(${GC_LOCK_KEY}) as locked`.execute(connection);
      if (rows[0]?.locked !== true) {
        resolve(undefined);
        return;
      }
      acquired = true;
      let release = () => undefined as void;
      const released = new Promise<void>((done) => (release = done));
      resolve({
        async check() {
          // The lock lives as long as the session: a connection that still answers holds it.
          await sql`select 1`.execute(connection).catch(() => {
            throw new GcLockLostError();
          });
        },
        async release() {
          release();
          await held.catch(() => undefined);
        },
      });
      await released;
      await sql`select pg_advisory_unlock(${GC_LOCK_KEY})`.execute(connection);
    });
    held.catch((error: unknown) => {
      if (!acquired) reject(error as Error);
    });
  });
}

async function leaseLock(database: Database, leaseMs: number): Promise<GcLockHold | undefined> {
  const holder = randomUUID();
  const until = () => new Date(Date.now() + leaseMs).toISOString();
  await database
    .insertInto('maintenance_leases')
    .values({ name: LEASE, holder, expires_at: until() })
    .onConflict((conflict) =>
      conflict
        .column('name')
        .doUpdateSet((eb) => ({
          holder: eb.ref('excluded.holder'),
          expires_at: eb.ref('excluded.expires_at'),
        }))
        .where('maintenance_leases.expires_at', '<', new Date().toISOString()),
    )
    .execute();
  const row = await database
    .selectFrom('maintenance_leases')
    .select('holder')
    .where('name', '=', LEASE)
    .executeTakeFirst();
  if (row?.holder !== holder) return undefined;

  let lost = false;
  const renew = async () => {
    const renewed = await database
      .updateTable('maintenance_leases')
      .set({ expires_at: until() })
      .where('name', '=', LEASE)
      .where('holder', '=', holder)
      .executeTakeFirst();
    if (renewed.numUpdatedRows === 0n) lost = true;
  };
  const timer = setInterval(() => void renew().catch(() => undefined), leaseMs / 3);
  timer.unref();
  return {
    async check() {
      if (!lost) await renew();
      if (lost) throw new GcLockLostError();
    },
    async release() {
      clearInterval(timer);
      await database
        .deleteFrom('maintenance_leases')
        .where('name', '=', LEASE)
        .where('holder', '=', holder)
        .execute()
        .catch(() => undefined);
    },
  };
}

/**
 * One garbage collection at a time across processes (a second run finds the lock taken), a lock
 * whose holder died is freed, and the schedule runs collections in the server and stops.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acquireGcLock, GcLockLostError } from '../src/gc/gc-lock';
import { GarbageCollectionScheduler } from '../src/gc/gc-scheduler';
import { type RunningDtr, startDtr } from './dtr-harness';
import { type GcFixture, gcFixture, GRACE_MS, pushBlob, remove } from './gc-support';
import { testEngine } from './test-database';

let dtr: RunningDtr;
let alice: string;
let one: GcFixture;
let two: GcFixture;

beforeAll(async () => {
  dtr = await startDtr();
  alice = await dtr.createUser('alice');
  // Two processes' worth: each a connection (pool) of its own to the database.
  one = await gcFixture(dtr);
  two = await gcFixture(dtr);
});
afterAll(async () => {
  await one?.close();
  await two?.close();
  await dtr?.close();
});

const real = { dryRun: false, graceMs: GRACE_MS } as const;

/** A blob nothing keeps, old enough to be collected. */
async function garbage(content: string): Promise<string> {
  const blob = await pushBlob(dtr, 'alice/app', content, alice);
  await remove(dtr, `/v2/alice/app/blobs/${blob.digest}`, alice);
  await one.age();
  return blob.digest;
}

describe('the garbage collection lock', () => {
  it('lets one run proceed: another run meanwhile is busy and deletes nothing; then it runs', async () => {
    const digest = await garbage('collected once');
    let second: unknown;
    const first = await one.collector().run({
      ...real,
      beforeSweep: async () => {
        second = await two.collector().run(real);
        expect(await acquireGcLock(two.opened.database, two.opened.engine)).toBeUndefined();
      },
    });
    expect(second).toEqual({ status: 'busy' });
    expect(first.status === 'done' && first.report.removed.map((blob) => blob.digest)).toEqual([
      digest,
    ]);
    const after = await two.collector().run(real);
    expect(after).toMatchObject({ status: 'done', report: { removed: [] } });
  });

  if (testEngine() === 'sqlite') {
    afterEach(async () => {
      await one.opened.database.deleteFrom('maintenance_leases').execute();
    });

    it('takes over a lease whose holder stopped renewing it, not one still held', async () => {
      const lease = (expires: number) =>
        one.opened.database
          .insertInto('maintenance_leases')
          .values({
            name: 'garbage-collection',
            holder: 'dead',
            expires_at: new Date(expires).toISOString(),
          })
          .onConflict((conflict) =>
            conflict.column('name').doUpdateSet({ expires_at: new Date(expires).toISOString() }),
          )
          .execute();
      await lease(Date.now() + 60_000);
      expect(await one.collector().run(real)).toEqual({ status: 'busy' });
      await lease(Date.now() - 1);
      expect(await one.collector().run(real)).toMatchObject({ status: 'done' });
    });

    it('notices a lease lost to another holder', async () => {
      const hold = await acquireGcLock(one.opened.database, 'sqlite', { leaseMs: 60_000 });
      await one.opened.database
        .updateTable('maintenance_leases')
        .set({ holder: 'other' })
        .execute();
      await expect(hold?.check()).rejects.toBeInstanceOf(GcLockLostError);
      await hold?.release();
    });
  } else {
    it('is freed when the connection holding it ends, and the run holding it notices', async () => {
      const hold = await acquireGcLock(one.opened.database, 'postgresql');
      expect(hold).toBeDefined();
      await hold?.check();
      expect(await acquireGcLock(two.opened.database, 'postgresql')).toBeUndefined();
      // Every connection of the first "process" but the test's ends (as when it dies).
      await sql`select pg_terminate_backend(l.pid) from pg_locks l
        where l.locktype = 'advisory' and l.objid = ${0x64747202} and l.pid <> pg_backend_pid()`.execute(
        two.opened.database,
      );
      await expect(hold?.check()).rejects.toBeInstanceOf(GcLockLostError);
      await hold?.release();
      const again = await acquireGcLock(two.opened.database, 'postgresql');
      expect(again).toBeDefined();
      await again?.release();
    });
  }
});

describe('the garbage collection schedule in the server', () => {
  it('collects every interval, skips a turn while another run holds the lock, and stops', async () => {
    const digest = await garbage('collected on schedule');
    const logged: string[] = [];
    const logger = {
      error: (message: string) => void logged.push(message),
      warn: (message: string) => void logged.push(message),
      info: (message: string) => void logged.push(message),
      debug: () => undefined,
    };
    const collector = one.collector(logger);
    const scheduler = new GarbageCollectionScheduler({
      intervalMs: 50,
      collect: (signal) => collector.run({ ...real, signal }),
      logger,
    });
    const held = await acquireGcLock(two.opened.database, two.opened.engine);
    scheduler.start();
    await expect
      .poll(() => logged, { timeout: 5000 })
      .toContain('garbage collection skipped: another run holds the lock');
    expect(await one.stored(digest)).toBe(true);
    await held?.release();
    await expect.poll(() => logged, { timeout: 5000 }).toContain('garbage collection finished');
    expect(await one.stored(digest)).toBe(false);
    await scheduler.stop();
    const turns = logged.filter((line) => line === 'garbage collection started').length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(logged.filter((line) => line === 'garbage collection started')).toHaveLength(turns);
  });
});

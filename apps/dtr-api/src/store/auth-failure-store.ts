import type { Database } from './schema';

/**
 * Consecutive failed password checks per key (`account:<name>`, `client:<address>`), shared by
 * the replicas: an attacker spreading guesses over them is held back as by one.
 */
export class AuthFailureStore {
  constructor(private readonly database: Database) {}

  /** The failures of `key` and until when it waits, unless its last failure is before `staleBefore`. */
  async current(
    key: string,
    staleBefore: number,
  ): Promise<{ failures: number; until: number } | undefined> {
    const row = await this.database
      .selectFrom('auth_failures')
      .select(['failures', 'until_ms'])
      .where('key', '=', key)
      .where('last_ms', '>=', staleBefore)
      .executeTakeFirst();
    return row && { failures: Number(row.failures), until: Number(row.until_ms) };
  }

  /**
   * Counts one more failure of `key` at `now` (starting again at 1 if the last one is before
   * `staleBefore`) and sets its wait with `waitOf(failures)`; returns the failures now.
   */
  async fail(
    key: string,
    now: number,
    staleBefore: number,
    waitOf: (failures: number) => number,
  ): Promise<number> {
    return this.database.transaction().execute(async (transaction) => {
      const row = await transaction
        .insertInto('auth_failures')
        .values({ key, failures: 1, until_ms: now, last_ms: now })
        .onConflict((conflict) =>
          conflict.column('key').doUpdateSet((eb) => ({
            failures: eb
              .case()
              .when('auth_failures.last_ms', '<', staleBefore)
              .then(1)
              .else(eb('auth_failures.failures', '+', 1))
              .end(),
            last_ms: now,
          })),
        )
        .returning('failures')
        .executeTakeFirstOrThrow();
      const failures = Number(row.failures);
      await transaction
        .updateTable('auth_failures')
        .set({ until_ms: now + waitOf(failures) })
        .where('key', '=', key)
        .execute();
      return failures;
    });
  }

  async clear(key: string): Promise<void> {
    await this.database.deleteFrom('auth_failures').where('key', '=', key).execute();
  }

  /** Forgets keys whose last failure is before `staleBefore` (bounds the table). */
  async prune(staleBefore: number): Promise<void> {
    await this.database.deleteFrom('auth_failures').where('last_ms', '<', staleBefore).execute();
  }
}

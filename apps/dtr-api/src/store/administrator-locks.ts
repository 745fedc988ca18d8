import type { Kysely } from 'kysely';
import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Account } from './account-store';
import type { DtrSchema } from './schema';

/**
 * Locks every administrator's row (see row-locks.ts): two transactions that each remove a
 * different one of the last two administrators run one after the other, and the second sees that
 * it would remove the last one.
 */
export async function lockAdministrators(transaction: Kysely<DtrSchema>): Promise<void> {
  await transaction
    .updateTable('accounts')
    .set((eb) => ({ generation: eb.ref('generation') }))
    .where('is_admin', '=', 1)
    .execute();
}

/** @throws RegistryError `CONFLICT` unless an administrator other than `account` exists. */
export async function assertAnotherAdministrator(
  transaction: Kysely<DtrSchema>,
  account: Pick<Account, 'id' | 'name'>,
): Promise<void> {
  const other = await transaction
    .selectFrom('accounts')
    .select('id')
    .where('is_admin', '=', 1)
    .where('id', '<>', account.id)
    .limit(1)
    .executeTakeFirst();
  if (other === undefined) {
    throw new RegistryError('CONFLICT', 'the last administrator cannot be removed or demoted', {
      detail: { name: account.name },
    });
  }
}

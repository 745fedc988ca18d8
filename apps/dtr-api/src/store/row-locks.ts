import type { Kysely } from 'kysely';
import type { DtrSchema } from './schema';

// Row locks that both engines understand: an UPDATE that changes nothing. On PostgreSQL it locks
// the row until the transaction ends (a second transaction doing the same waits), which makes a
// read-check-write inside the transaction safe under READ COMMITTED; SQLite has one writer at a
// time anyway, and the statement takes its write lock.

/** Locks one account's row (an organization whose owners change, a user whose uploads start). */
export async function lockAccount(
  transaction: Kysely<DtrSchema>,
  accountId: number,
): Promise<void> {
  await transaction
    .updateTable('accounts')
    .set((eb) => ({ generation: eb.ref('generation') }))
    .where('id', '=', accountId)
    .execute();
}

/** Locks the rows of every organization a user belongs to, in id order (no deadlock between two). */
export async function lockOrganizationsOf(
  transaction: Kysely<DtrSchema>,
  userName: string,
): Promise<void> {
  const organizations = await transaction
    .selectFrom('memberships as m')
    .innerJoin('accounts as u', 'u.id', 'm.user_id')
    .select('m.organization_id')
    .where('u.name', '=', userName)
    .orderBy('m.organization_id')
    .execute();
  for (const { organization_id } of organizations) await lockAccount(transaction, organization_id);
}

import { RegistryError } from '@dtr-cache/registry-protocol';
import { type Account, type AccountRow, toAccount } from './account-store';
import type { Kysely } from 'kysely';
import { lockAccount } from './row-locks';
import type { Database, DtrSchema } from './schema';

/**
 * A member's role in an organization. Members use the organization's repositories (pull, push,
 * delete); owners also add and remove members and change roles.
 */
export type OrganizationRole = 'owner' | 'member';

/** A user's membership, as the members list shows it. */
export interface Membership {
  readonly user: Account;
  readonly role: OrganizationRole;
}

type MemberRow = AccountRow & { role: OrganizationRole };

/** Where a page of a membership list starts and how long it is (keyset paging by name). */
export interface MembershipPageQuery {
  /** The name the page continues after. */
  readonly after?: string;
  /** At most this many (1 to 100). */
  readonly limit: number;
}

/** One page of a membership list by name, and the name to continue after (undefined: last). */
export interface MembershipPage<T> {
  readonly items: T[];
  readonly next: string | undefined;
}

/** The biggest page {@link MembershipStore} returns. */
const MAX_MEMBERSHIP_PAGE = 100;

/**
 * Organization memberships and roles. Every change that could leave an organization without an
 * owner locks the organization's row and checks, in the same transaction, that another owner
 * remains (two replicas demoting its last two owners at once: one of them is refused).
 */
export class MembershipStore {
  constructor(private readonly database: Database) {}

  /** The user's role in the organization, or undefined if not a member. */
  async roleOf(
    organizationId: number,
    userId: number,
    database: Kysely<DtrSchema> = this.database,
  ): Promise<OrganizationRole | undefined> {
    const row = await database
      .selectFrom('memberships')
      .select('role')
      .where('organization_id', '=', organizationId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.role;
  }

  /** Members with their roles, by name. */
  async members(organization: Pick<Account, 'id'>): Promise<Membership[]> {
    return (await this.joined('user_id', 'organization_id', organization.id)).map((row) => ({
      user: toAccount(row),
      role: row.role,
    }));
  }

  /** Organizations the user belongs to, with the user's role in each, by name. */
  async organizationsOf(
    user: Pick<Account, 'id'>,
  ): Promise<Array<{ organization: Account; role: OrganizationRole }>> {
    return (await this.joined('organization_id', 'user_id', user.id)).map((row) => ({
      organization: toAccount(row),
      role: row.role,
    }));
  }

  /** One page of the organization's members with their roles, by name. */
  async membersPage(
    organization: Pick<Account, 'id'>,
    query: MembershipPageQuery,
  ): Promise<MembershipPage<Membership>> {
    return this.paged('user_id', 'organization_id', organization.id, query, (row) => ({
      user: toAccount(row),
      role: row.role,
    }));
  }

  /** One page of the organizations the user belongs to, with the user's role in each, by name. */
  async organizationsPage(
    user: Pick<Account, 'id'>,
    query: MembershipPageQuery,
  ): Promise<MembershipPage<{ organization: Account; role: OrganizationRole }>> {
    return this.paged('organization_id', 'user_id', user.id, query, (row) => ({
      organization: toAccount(row),
      role: row.role,
    }));
  }

  private async paged<T>(
    account: 'user_id' | 'organization_id',
    other: 'user_id' | 'organization_id',
    id: number,
    query: MembershipPageQuery,
    toItem: (row: MemberRow) => T,
  ): Promise<MembershipPage<T>> {
    const limit = Math.min(Math.max(Math.trunc(query.limit), 1), MAX_MEMBERSHIP_PAGE);
    const rows = await this.joined(account, other, id, { after: query.after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      items: page.map(toItem),
      next: rows.length > limit ? page[page.length - 1]?.name : undefined,
    };
  }

  /**
   * The accounts on one side of the memberships whose other side is `id`, with the role, by name:
   * the members of an organization (`user_id`, `organization_id`) or a user's organizations;
   * with `page`, only those after `page.after` and at most `page.limit`.
   */
  private joined(
    account: 'user_id' | 'organization_id',
    other: 'user_id' | 'organization_id',
    id: number,
    page?: { after: string | undefined; limit: number },
  ): Promise<MemberRow[]> {
    let select = this.database
      .selectFrom('accounts as a')
      .innerJoin('memberships as m', `m.${account}`, 'a.id')
      .selectAll('a')
      .select('m.role')
      .where(`m.${other}`, '=', id);
    if (page?.after !== undefined) select = select.where('a.name', '>', page.after);
    if (page !== undefined) select = select.limit(page.limit);
    return select.orderBy('a.name').execute();
  }

  /**
   * Adds a user with `role`, or changes the role of a member (`role` undefined: a new member is a
   * `member`, an existing one keeps their role). Returns the role they have now.
   * @throws RegistryError `CONFLICT` if this demotes the organization's last owner.
   */
  async put(
    organization: Pick<Account, 'id' | 'name'>,
    user: Pick<Account, 'id' | 'name'>,
    role: OrganizationRole | undefined,
  ): Promise<OrganizationRole> {
    return this.database.transaction().execute(async (transaction) => {
      await lockAccount(transaction, organization.id);
      const current = await this.roleOf(organization.id, user.id, transaction);
      const next = role ?? current ?? 'member';
      if (current === 'owner' && next !== 'owner')
        await this.assertAnotherOwner(transaction, organization, user);
      await transaction
        .insertInto('memberships')
        .values({ organization_id: organization.id, user_id: user.id, role: next })
        .onConflict((conflict) =>
          conflict
            .columns(['organization_id', 'user_id'])
            .doUpdateSet((eb) => ({ role: eb.ref('excluded.role') })),
        )
        .execute();
      return next;
    });
  }

  /**
   * Removes a member; false if the user was not one.
   * @throws RegistryError `CONFLICT` if the user is the organization's last owner.
   */
  async remove(
    organization: Pick<Account, 'id' | 'name'>,
    user: Pick<Account, 'id' | 'name'>,
  ): Promise<boolean> {
    return this.database.transaction().execute(async (transaction) => {
      await lockAccount(transaction, organization.id);
      if ((await this.roleOf(organization.id, user.id, transaction)) === 'owner')
        await this.assertAnotherOwner(transaction, organization, user);
      const deleted = await transaction
        .deleteFrom('memberships')
        .where('organization_id', '=', organization.id)
        .where('user_id', '=', user.id)
        .executeTakeFirst();
      return deleted.numDeletedRows > 0n;
    });
  }

  private async assertAnotherOwner(
    transaction: Kysely<DtrSchema>,
    organization: Pick<Account, 'id' | 'name'>,
    user: Pick<Account, 'id' | 'name'>,
  ): Promise<void> {
    const other = await transaction
      .selectFrom('memberships')
      .select('user_id')
      .where('organization_id', '=', organization.id)
      .where('role', '=', 'owner')
      .where('user_id', '<>', user.id)
      .limit(1)
      .executeTakeFirst();
    if (other === undefined) {
      throw new RegistryError('CONFLICT', 'an organization cannot lose its last owner', {
        detail: { organization: organization.name, user: user.name },
      });
    }
  }
}

import { RegistryError } from '@dtr-cache/registry-protocol';
import { type Account, type AccountRow, toAccount } from './account-store';
import type { Database } from './database';

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

interface MemberRow extends AccountRow {
  role: OrganizationRole;
}

/**
 * Organization memberships and roles, in SQLite. Every change that could leave an organization
 * without an owner checks, in the same transaction, that another owner remains.
 */
export class MembershipStore {
  constructor(private readonly database: Database) {}

  /** The user's role in the organization, or undefined if not a member. */
  roleOf(organizationId: number, userId: number): OrganizationRole | undefined {
    const row = this.database
      .prepare('SELECT role FROM memberships WHERE organization_id = ? AND user_id = ?')
      .get(organizationId, userId) as { role: OrganizationRole } | undefined;
    return row?.role;
  }

  /** Members with their roles, by name. */
  members(organization: Pick<Account, 'id'>): Membership[] {
    return this.joined('user_id', 'organization_id', organization.id).map((row) => ({
      user: toAccount(row),
      role: row.role,
    }));
  }

  /** Organizations the user belongs to, with the user's role in each, by name. */
  organizationsOf(
    user: Pick<Account, 'id'>,
  ): Array<{ organization: Account; role: OrganizationRole }> {
    return this.joined('organization_id', 'user_id', user.id).map((row) => ({
      organization: toAccount(row),
      role: row.role,
    }));
  }

  /**
   * The accounts on one side of the memberships whose other side is `id`, with the role, by name:
   * the members of an organization (`user_id`, `organization_id`) or a user's organizations.
   */
  private joined(
    account: 'user_id' | 'organization_id',
    other: 'user_id' | 'organization_id',
    id: number,
  ): MemberRow[] {
    return this.database
      .prepare(
        `SELECT a.*, m.role FROM accounts a JOIN memberships m ON m.${account} = a.id
         WHERE m.${other} = ? ORDER BY a.name`,
      )
      .all(id) as MemberRow[];
  }

  /**
   * Adds a user with `role`, or changes the role of a member (`role` undefined: a new member is a
   * `member`, an existing one keeps their role). Returns the role they have now.
   * @throws RegistryError `CONFLICT` if this demotes the organization's last owner.
   */
  put(
    organization: Pick<Account, 'id' | 'name'>,
    user: Pick<Account, 'id' | 'name'>,
    role: OrganizationRole | undefined,
  ): OrganizationRole {
    return this.database.transaction(() => {
      const current = this.roleOf(organization.id, user.id);
      const next = role ?? current ?? 'member';
      if (current === 'owner' && next !== 'owner') this.assertAnotherOwner(organization, user);
      this.database
        .prepare(
          `INSERT INTO memberships (organization_id, user_id, role) VALUES (?, ?, ?)
           ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role`,
        )
        .run(organization.id, user.id, next);
      return next;
    })();
  }

  /**
   * Removes a member; false if the user was not one.
   * @throws RegistryError `CONFLICT` if the user is the organization's last owner.
   */
  remove(organization: Pick<Account, 'id' | 'name'>, user: Pick<Account, 'id' | 'name'>): boolean {
    return this.database.transaction(() => {
      if (this.roleOf(organization.id, user.id) === 'owner')
        this.assertAnotherOwner(organization, user);
      return (
        this.database
          .prepare('DELETE FROM memberships WHERE organization_id = ? AND user_id = ?')
          .run(organization.id, user.id).changes > 0
      );
    })();
  }

  private assertAnotherOwner(
    organization: Pick<Account, 'id' | 'name'>,
    user: Pick<Account, 'id' | 'name'>,
  ): void {
    const others = this.database
      .prepare(
        "SELECT COUNT(*) AS count FROM memberships WHERE organization_id = ? AND role = 'owner' AND user_id <> ?",
      )
      .get(organization.id, user.id) as { count: number };
    if (others.count === 0) {
      throw new RegistryError('CONFLICT', 'an organization cannot lose its last owner', {
        detail: { organization: organization.name, user: user.name },
      });
    }
  }
}

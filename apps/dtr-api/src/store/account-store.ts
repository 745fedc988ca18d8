import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Database } from './database';

/** A user or an organization. */
export interface Account {
  readonly id: number;
  readonly name: string;
  readonly kind: 'user' | 'organization';
  readonly isAdmin: boolean;
  readonly createdAt: string;
}

interface AccountRow {
  id: number;
  name: string;
  kind: 'user' | 'organization';
  is_admin: number;
  password_hash: string | null;
  created_at: string;
}

/** Account names: one lower-case repository-name component, 2 to 64 characters. */
export const ACCOUNT_NAME_PATTERN = /^(?=.{2,64}$)[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    isAdmin: row.is_admin === 1,
    createdAt: row.created_at,
  };
}

/** Accounts and organization memberships in SQLite. */
export class AccountStore {
  constructor(private readonly database: Database) {}

  /**
   * Creates an account.
   * @throws RegistryError `INVALID_REQUEST` for a bad name, `CONFLICT` if the name is taken.
   */
  create(input: {
    name: string;
    kind: 'user' | 'organization';
    passwordHash?: string;
    isAdmin?: boolean;
  }): Account {
    if (!ACCOUNT_NAME_PATTERN.test(input.name)) {
      throw new RegistryError('INVALID_REQUEST', 'invalid account name', {
        detail: {
          name: input.name,
          reason: '2-64 lower-case letters and digits, separated by ".", "_", "__" or "-"',
        },
      });
    }
    try {
      const row = this.database
        .prepare(
          'INSERT INTO accounts (name, kind, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *',
        )
        .get(
          input.name,
          input.kind,
          input.passwordHash ?? null,
          input.isAdmin ? 1 : 0,
          new Date().toISOString(),
        ) as AccountRow;
      return toAccount(row);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new RegistryError('CONFLICT', 'account already exists', {
          detail: { name: input.name },
        });
      }
      throw error;
    }
  }

  find(name: string): Account | undefined {
    const row = this.database.prepare('SELECT * FROM accounts WHERE name = ?').get(name) as
      AccountRow | undefined;
    return row && toAccount(row);
  }

  /** The stored password hash of a user, or undefined (organizations have none). */
  passwordHash(name: string): string | undefined {
    const row = this.database
      .prepare("SELECT password_hash FROM accounts WHERE name = ? AND kind = 'user'")
      .get(name) as { password_hash: string | null } | undefined;
    return row?.password_hash ?? undefined;
  }

  list(): Account[] {
    return (
      this.database.prepare('SELECT * FROM accounts ORDER BY name').all() as AccountRow[]
    ).map(toAccount);
  }

  hasAdmin(): boolean {
    return (
      this.database.prepare('SELECT 1 FROM accounts WHERE is_admin = 1 LIMIT 1').get() !== undefined
    );
  }

  /** Deletes an account with its repositories and memberships; false if it did not exist. */
  delete(name: string): boolean {
    return this.database.prepare('DELETE FROM accounts WHERE name = ?').run(name).changes > 0;
  }

  addMember(organization: Account, user: Account): void {
    this.database
      .prepare('INSERT OR IGNORE INTO memberships (organization_id, user_id) VALUES (?, ?)')
      .run(organization.id, user.id);
  }

  removeMember(organization: Account, user: Account): boolean {
    return (
      this.database
        .prepare('DELETE FROM memberships WHERE organization_id = ? AND user_id = ?')
        .run(organization.id, user.id).changes > 0
    );
  }

  members(organization: Account): Account[] {
    const rows = this.database
      .prepare(
        'SELECT a.* FROM accounts a JOIN memberships m ON m.user_id = a.id WHERE m.organization_id = ? ORDER BY a.name',
      )
      .all(organization.id) as AccountRow[];
    return rows.map(toAccount);
  }

  isMember(organizationId: number, userId: number): boolean {
    return (
      this.database
        .prepare('SELECT 1 FROM memberships WHERE organization_id = ? AND user_id = ?')
        .get(organizationId, userId) !== undefined
    );
  }
}

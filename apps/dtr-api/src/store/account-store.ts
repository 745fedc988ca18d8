import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Database } from './database';

/** A namespace's storage quota override: bytes, or no limit at all. */
export type StorageQuota = number | 'unlimited';

/** A user or an organization. */
export interface Account {
  /** Never reused: a deleted account's id names nobody. */
  readonly id: number;
  readonly name: string;
  readonly kind: 'user' | 'organization';
  readonly isAdmin: boolean;
  readonly createdAt: string;
  /**
   * Changes with the password: tokens and grants carry it, and those of an older generation are
   * refused.
   */
  readonly generation: number;
  /** The administrators' override of the default quota; undefined: the default applies. */
  readonly storageQuota: StorageQuota | undefined;
}

/** An `accounts` row. */
export interface AccountRow {
  id: number;
  name: string;
  kind: 'user' | 'organization';
  is_admin: number;
  password_hash: string | null;
  created_at: string;
  generation: number;
  storage_quota: number | null;
}

/** `storage_quota` of "no limit" (NULL means the configured default). */
const UNLIMITED = -1;

/** Account names: one lower-case repository-name component, 2 to 64 characters. */
export const ACCOUNT_NAME_PATTERN = /^(?=.{2,64}$)[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

/** The account of an `accounts` row. */
export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    isAdmin: row.is_admin === 1,
    createdAt: row.created_at,
    generation: row.generation,
    storageQuota:
      row.storage_quota === null
        ? undefined
        : row.storage_quota === UNLIMITED
          ? 'unlimited'
          : row.storage_quota,
  };
}

/** Accounts in SQLite (memberships: {@link MembershipStore}). */
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

  /** The account with this id, or undefined (ids are never reused). */
  findById(id: number): Account | undefined {
    const row = this.database.prepare('SELECT * FROM accounts WHERE id = ?').get(id) as
      AccountRow | undefined;
    return row && toAccount(row);
  }

  /**
   * Replaces a user's password hash and moves the account to a new generation, which makes every
   * token and grant issued before refused. Returns the account as it is now.
   */
  setPasswordHash(account: Pick<Account, 'id'>, hash: string): Account {
    return toAccount(
      this.database
        .prepare(
          'UPDATE accounts SET password_hash = ?, generation = generation + 1 WHERE id = ? RETURNING *',
        )
        .get(hash, account.id) as AccountRow,
    );
  }

  /** Sets (or, with undefined, removes) the storage quota override of an account. */
  setStorageQuota(account: Pick<Account, 'id'>, quota: StorageQuota | undefined): Account {
    const value = quota === undefined ? null : quota === 'unlimited' ? UNLIMITED : quota;
    return toAccount(
      this.database
        .prepare('UPDATE accounts SET storage_quota = ? WHERE id = ? RETURNING *')
        .get(value, account.id) as AccountRow,
    );
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

  /**
   * Deletes an account with its repositories, memberships, sessions and upload sessions; false if
   * it did not exist. Its id is never given to another account.
   * @throws RegistryError `CONFLICT` if it is the last owner of an organization (the organization
   *   would lose its last owner).
   */
  delete(name: string): boolean {
    return this.database.transaction(() => {
      const owned = this.database
        .prepare(
          `SELECT o.name FROM memberships m JOIN accounts o ON o.id = m.organization_id
           JOIN accounts u ON u.id = m.user_id
           WHERE u.name = ? AND m.role = 'owner' AND NOT EXISTS (
             SELECT 1 FROM memberships other WHERE other.organization_id = m.organization_id
             AND other.role = 'owner' AND other.user_id <> m.user_id)`,
        )
        .all(name) as Array<{ name: string }>;
      if (owned.length > 0) {
        throw new RegistryError(
          'CONFLICT',
          'the account is the last owner of an organization: make another member an owner first',
          { detail: { name, organizations: owned.map((row) => row.name) } },
        );
      }
      return this.database.prepare('DELETE FROM accounts WHERE name = ?').run(name).changes > 0;
    })();
  }
}

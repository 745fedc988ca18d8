import { type Selectable, sql } from 'kysely';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { isUniqueViolation } from './database';
import type { AccountsTable, Database } from './schema';
import { assertAnotherAdministrator, lockAdministrators } from './administrator-locks';
import { lockOrganizationsOf } from './row-locks';

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
export type AccountRow = Selectable<AccountsTable>;

/** `storage_quota` of "no limit" (NULL means the configured default). */
const UNLIMITED = -1;

/** Most accounts one {@link AccountStore.page} returns. */
export const MAX_PAGE_SIZE = 100;

/** One page of accounts by name, and the name to continue after (undefined: the last page). */
export interface AccountPage {
  readonly accounts: Account[];
  readonly next: string | undefined;
}

/** Escapes `%`, `_` and `\\` for a LIKE pattern with `ESCAPE '\\'`. */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

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

/** Accounts, on either engine (memberships: {@link MembershipStore}). */
export class AccountStore {
  constructor(private readonly database: Database) {}

  /**
   * Creates an account.
   * @throws RegistryError `INVALID_REQUEST` for a bad name, `CONFLICT` if the name is taken.
   */
  async create(input: {
    name: string;
    kind: 'user' | 'organization';
    passwordHash?: string;
    isAdmin?: boolean;
  }): Promise<Account> {
    if (!ACCOUNT_NAME_PATTERN.test(input.name)) {
      throw new RegistryError('INVALID_REQUEST', 'invalid account name', {
        detail: {
          name: input.name,
          reason: '2-64 lower-case letters and digits, separated by ".", "_", "__" or "-"',
        },
      });
    }
    try {
      const row = await this.database
        .insertInto('accounts')
        .values({
          name: input.name,
          kind: input.kind,
          password_hash: input.passwordHash ?? null,
          is_admin: input.isAdmin ? 1 : 0,
          created_at: new Date().toISOString(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toAccount(row);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new RegistryError('CONFLICT', 'account already exists', {
          detail: { name: input.name },
        });
      }
      throw error;
    }
  }

  async find(name: string): Promise<Account | undefined> {
    const row = await this.database
      .selectFrom('accounts')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toAccount(row);
  }

  /** The account with this id, or undefined (ids are never reused). */
  async findById(id: number): Promise<Account | undefined> {
    const row = await this.database
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toAccount(row);
  }

  /**
   * Replaces a user's password hash and moves the account to a new generation, which makes every
   * token and grant issued before refused. Returns the account as it is now.
   */
  async setPasswordHash(account: Pick<Account, 'id'>, hash: string): Promise<Account> {
    return toAccount(
      await this.database
        .updateTable('accounts')
        .set((eb) => ({ password_hash: hash, generation: eb('generation', '+', 1) }))
        .where('id', '=', account.id)
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
  }

  /** Sets (or, with undefined, removes) the storage quota override of an account. */
  async setStorageQuota(
    account: Pick<Account, 'id'>,
    quota: StorageQuota | undefined,
  ): Promise<Account> {
    const value = quota === undefined ? null : quota === 'unlimited' ? UNLIMITED : quota;
    return toAccount(
      await this.database
        .updateTable('accounts')
        .set({ storage_quota: value })
        .where('id', '=', account.id)
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
  }

  /** The stored password hash of a user, or undefined (organizations have none). */
  async passwordHash(name: string): Promise<string | undefined> {
    const row = await this.database
      .selectFrom('accounts')
      .select('password_hash')
      .where('name', '=', name)
      .where('kind', '=', 'user')
      .executeTakeFirst();
    return row?.password_hash ?? undefined;
  }

  async list(): Promise<Account[]> {
    const rows = await this.database.selectFrom('accounts').selectAll().orderBy('name').execute();
    return rows.map(toAccount);
  }

  /**
   * A page of accounts by name: of `kind` if given, whose names contain `search` if given (names
   * are lower-case: so is the search), after the name `after`; at most `limit` (1 to
   * {@link MAX_PAGE_SIZE}).
   */
  async page(query: {
    kind?: Account['kind'];
    search?: string;
    after?: string;
    limit: number;
  }): Promise<AccountPage> {
    const limit = Math.min(Math.max(Math.trunc(query.limit), 1), MAX_PAGE_SIZE);
    let select = this.database.selectFrom('accounts').selectAll();
    if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
    if (query.search !== undefined && query.search !== '') {
      const pattern = `%${likeLiteral(query.search.toLowerCase())}%`;
      select = select.where(sql<boolean>`name like ${pattern} escape '\\'`);
    }
    if (query.after !== undefined) select = select.where('name', '>', query.after);
    const rows = await select
      .orderBy('name')
      .limit(limit + 1)
      .execute();
    const accounts = rows.slice(0, limit).map(toAccount);
    return {
      accounts,
      next: rows.length > limit ? accounts[accounts.length - 1]?.name : undefined,
    };
  }

  /**
   * Makes a user an administrator or not; returns the account as it is now.
   * @throws RegistryError `CONFLICT` if this demotes the last administrator.
   */
  async setAdmin(account: Pick<Account, 'id' | 'name'>, isAdmin: boolean): Promise<Account> {
    return this.database.transaction().execute(async (transaction) => {
      if (!isAdmin) {
        await lockAdministrators(transaction);
        await assertAnotherAdministrator(transaction, account);
      }
      return toAccount(
        await transaction
          .updateTable('accounts')
          .set({ is_admin: isAdmin ? 1 : 0 })
          .where('id', '=', account.id)
          .where('kind', '=', 'user')
          .returningAll()
          .executeTakeFirstOrThrow(),
      );
    });
  }

  async hasAdmin(): Promise<boolean> {
    const row = await this.database
      .selectFrom('accounts')
      .select('id')
      .where('is_admin', '=', 1)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Deletes an account with its repositories, memberships, sessions and upload sessions; false if
   * it did not exist. Its id is never given to another account.
   * @throws RegistryError `CONFLICT` if it is the last owner of an organization (the organization
   *   would lose its last owner) or the last administrator.
   */
  async delete(name: string): Promise<boolean> {
    return this.database.transaction().execute(async (transaction) => {
      // Locks the account's organizations first (see MembershipStore): an owner removed or
      // demoted at the same time cannot leave one without owners.
      await lockOrganizationsOf(transaction, name);
      const target = await transaction
        .selectFrom('accounts')
        .select(['id', 'is_admin'])
        .where('name', '=', name)
        .executeTakeFirst();
      if (target?.is_admin === 1) {
        await lockAdministrators(transaction);
        await assertAnotherAdministrator(transaction, { id: target.id, name });
      }
      const owned = await transaction
        .selectFrom('memberships as m')
        .innerJoin('accounts as o', 'o.id', 'm.organization_id')
        .innerJoin('accounts as u', 'u.id', 'm.user_id')
        .select('o.name')
        .where('u.name', '=', name)
        .where('m.role', '=', 'owner')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('memberships as other')
                .select('other.user_id')
                .whereRef('other.organization_id', '=', 'm.organization_id')
                .where('other.role', '=', 'owner')
                .whereRef('other.user_id', '<>', 'm.user_id'),
            ),
          ),
        )
        .execute();
      if (owned.length > 0) {
        throw new RegistryError(
          'CONFLICT',
          'the account is the last owner of an organization: make another member an owner first',
          { detail: { name, organizations: owned.map((row) => row.name) } },
        );
      }
      const deleted = await transaction
        .deleteFrom('accounts')
        .where('name', '=', name)
        .executeTakeFirst();
      return deleted.numDeletedRows > 0n;
    });
  }
}

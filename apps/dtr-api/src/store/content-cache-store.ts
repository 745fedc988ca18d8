import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Account } from './account-store';
import { isUniqueViolation } from './database';
import type { Database } from './schema';

/** A registered content cache. */
export interface ContentCache {
  readonly id: number;
  readonly name: string;
  /** Externally reachable base URL, e.g. `https://cache.example.com:5000`. */
  readonly host: string;
  readonly createdAt: string;
}

/** Cache names: lower-case letters and digits separated by `.`, `_` or `-`, 1-64 characters. */
export const CONTENT_CACHE_NAME_PATTERN = /^(?=.{1,64}$)[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

interface ContentCacheRow {
  id: number;
  name: string;
  host: string;
  created_at: string;
}

function toCache(row: ContentCacheRow): ContentCache {
  return { id: row.id, name: row.name, host: row.host, createdAt: row.created_at };
}

/** Registered content caches and each account's chosen cache. */
export class ContentCacheStore {
  constructor(private readonly database: Database) {}

  /**
   * @throws RegistryError `INVALID_REQUEST` for a bad name, `CONFLICT` for a taken one.
   */
  async create(name: string, host: string): Promise<ContentCache> {
    if (!CONTENT_CACHE_NAME_PATTERN.test(name)) {
      throw new RegistryError('INVALID_REQUEST', 'invalid content cache name', {
        detail: {
          name,
          reason: '1-64 lower-case letters and digits, separated by ".", "_" or "-"',
        },
      });
    }
    try {
      const row = await this.database
        .insertInto('content_caches')
        .values({ name, host, created_at: new Date().toISOString() })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toCache(row);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new RegistryError('CONFLICT', 'a content cache with this name exists', {
          detail: { name },
        });
      }
      throw error;
    }
  }

  async list(): Promise<ContentCache[]> {
    const rows = await this.database
      .selectFrom('content_caches')
      .selectAll()
      .orderBy('name')
      .execute();
    return rows.map(toCache);
  }

  async find(id: number): Promise<ContentCache | undefined> {
    const row = await this.database
      .selectFrom('content_caches')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toCache(row);
  }

  async findByName(name: string): Promise<ContentCache | undefined> {
    const row = await this.database
      .selectFrom('content_caches')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toCache(row);
  }

  /** Deletes a cache; every setting that named it is cleared (ON DELETE SET NULL). */
  async delete(id: number): Promise<boolean> {
    const deleted = await this.database
      .deleteFrom('content_caches')
      .where('id', '=', id)
      .executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  }

  /** The content cache an account chose, or undefined. */
  async cacheOf(account: Pick<Account, 'id'>): Promise<ContentCache | undefined> {
    const row = await this.database
      .selectFrom('account_settings as s')
      .innerJoin('content_caches as c', 'c.id', 's.content_cache_id')
      .selectAll('c')
      .where('s.account_id', '=', account.id)
      .executeTakeFirst();
    return row && toCache(row);
  }

  /** Sets (or, with undefined, clears) the content cache of an account. */
  async setCacheOf(account: Pick<Account, 'id'>, cache: ContentCache | undefined): Promise<void> {
    await this.database
      .insertInto('account_settings')
      .values({ account_id: account.id, content_cache_id: cache?.id ?? null })
      .onConflict((conflict) =>
        conflict
          .column('account_id')
          .doUpdateSet((eb) => ({ content_cache_id: eb.ref('excluded.content_cache_id') })),
      )
      .execute();
  }
}

import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Account } from './account-store';
import type { Database } from './database';

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

/** Registered content caches and each account's chosen cache, in SQLite. */
export class ContentCacheStore {
  constructor(private readonly database: Database) {}

  /**
   * @throws RegistryError `INVALID_REQUEST` for a bad name, `CONFLICT` for a taken one.
   */
  create(name: string, host: string): ContentCache {
    if (!CONTENT_CACHE_NAME_PATTERN.test(name)) {
      throw new RegistryError('INVALID_REQUEST', 'invalid content cache name', {
        detail: {
          name,
          reason: '1-64 lower-case letters and digits, separated by ".", "_" or "-"',
        },
      });
    }
    try {
      const row = this.database
        .prepare('INSERT INTO content_caches (name, host, created_at) VALUES (?, ?, ?) RETURNING *')
        .get(name, host, new Date().toISOString()) as ContentCacheRow;
      return toCache(row);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new RegistryError('CONFLICT', 'a content cache with this name exists', {
          detail: { name },
        });
      }
      throw error;
    }
  }

  list(): ContentCache[] {
    return (
      this.database.prepare('SELECT * FROM content_caches ORDER BY name').all() as ContentCacheRow[]
    ).map(toCache);
  }

  find(id: number): ContentCache | undefined {
    const row = this.database.prepare('SELECT * FROM content_caches WHERE id = ?').get(id) as
      ContentCacheRow | undefined;
    return row && toCache(row);
  }

  findByName(name: string): ContentCache | undefined {
    const row = this.database.prepare('SELECT * FROM content_caches WHERE name = ?').get(name) as
      ContentCacheRow | undefined;
    return row && toCache(row);
  }

  /** Deletes a cache; every setting that named it is cleared (ON DELETE SET NULL). */
  delete(id: number): boolean {
    return this.database.prepare('DELETE FROM content_caches WHERE id = ?').run(id).changes > 0;
  }

  /** The content cache an account chose, or undefined. */
  cacheOf(account: Pick<Account, 'id'>): ContentCache | undefined {
    const row = this.database
      .prepare(
        'SELECT c.* FROM account_settings s JOIN content_caches c ON c.id = s.content_cache_id WHERE s.account_id = ?',
      )
      .get(account.id) as ContentCacheRow | undefined;
    return row && toCache(row);
  }

  /** Sets (or, with undefined, clears) the content cache of an account. */
  setCacheOf(account: Pick<Account, 'id'>, cache: ContentCache | undefined): void {
    this.database
      .prepare(
        `INSERT INTO account_settings (account_id, content_cache_id) VALUES (?, ?)
         ON CONFLICT (account_id) DO UPDATE SET content_cache_id = excluded.content_cache_id`,
      )
      .run(account.id, cache?.id ?? null);
  }
}

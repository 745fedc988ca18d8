import { CONTENT_CACHE_NAME_PATTERN, RegistryError } from '@dtr-cache/registry-protocol';
import type { Account } from './account-store';
import { isUniqueViolation } from './database';
import type { Database } from './schema';

/**
 * A registered content cache: a group of one or more members (hosts) that share the work, each
 * blob going to one of them.
 */
export interface ContentCache {
  readonly id: number;
  readonly name: string;
  /** The first member: the cache's address for clients that know one host only. */
  readonly host: string;
  /** The members' externally reachable base URLs, e.g. `https://cache-1.example.com:5000`. */
  readonly hosts: readonly string[];
  /** Client networks (CIDR) whose users without a setting pull through this cache. */
  readonly networks: readonly string[];
  readonly createdAt: string;
}

/** A cache as a user's choice needs it: its members, not its networks. */
export type CacheGroup = Omit<ContentCache, 'networks'>;

/** What an account's settings say about its cache. */
export type CacheChoice =
  | { readonly kind: 'cache'; readonly cache: CacheGroup }
  /** The user chose to pull without a cache. */
  | { readonly kind: 'none' }
  /** No choice: the cache serving the client's network, if any. */
  | { readonly kind: 'automatic' };

/** The most members a cache group has. */
export const MAX_CACHE_MEMBERS = 32;

/** The most client networks a cache lists. */
export const MAX_CACHE_NETWORKS = 256;

interface CacheRow {
  id: number;
  name: string;
  host: string;
  created_at: string;
}

/**
 * A cache's members: its member rows, the first of which is always its `host`. A replica of a
 * version before cache groups (schema 5) still runs during a rolling upgrade, and writes only
 * `host` when it registers a cache or changes its host: such a cache (no member rows, or rows
 * whose first is not its host) is the group of that one host.
 */
function membersOf(row: Pick<CacheRow, 'host'>, hosts: readonly string[] | undefined): string[] {
  if (hosts && hosts.length > 0 && hosts[0] === row.host) return [...hosts];
  return row.host ? [row.host] : [...(hosts ?? [])];
}

/** Registered content caches (groups), their members and networks, and each account's choice. */
export class ContentCacheStore {
  constructor(private readonly database: Database) {}

  /**
   * Registers a cache group; `hosts` are normalized URLs, `networks` CIDR text (validated by the
   * caller).
   * @throws RegistryError `INVALID_REQUEST` for a bad name or member count, `CONFLICT` for a
   *   taken name or a host that is a member of another cache.
   */
  async create(
    name: string,
    hosts: readonly string[],
    networks: readonly string[] = [],
  ): Promise<ContentCache> {
    if (!CONTENT_CACHE_NAME_PATTERN.test(name)) {
      throw new RegistryError('INVALID_REQUEST', 'invalid content cache name', {
        detail: {
          name,
          reason: '1-64 lower-case letters and digits, separated by ".", "_" or "-"',
        },
      });
    }
    checkMembers(hosts);
    checkNetworks(networks);
    try {
      return await this.database.transaction().execute(async (transaction) => {
        await assertHostsFree(transaction, hosts);
        const row = await transaction
          .insertInto('content_caches')
          .values({ name, host: hosts[0] as string, created_at: new Date().toISOString() })
          .returning(['id', 'name', 'host', 'created_at'])
          .executeTakeFirstOrThrow();
        await insertMembers(transaction, row.id, hosts);
        await insertNetworks(transaction, row.id, networks);
        return toCache(row, hosts, networks);
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new RegistryError('CONFLICT', 'a content cache with this name exists', {
          detail: { name },
        });
      }
      throw error;
    }
  }

  /** Every cache, by name, with its members and networks. */
  async list(): Promise<ContentCache[]> {
    const rows = await this.database
      .selectFrom('content_caches')
      .select(['id', 'name', 'host', 'created_at'])
      .orderBy('name')
      .execute();
    return this.complete(rows);
  }

  async find(id: number): Promise<ContentCache | undefined> {
    const rows = await this.database
      .selectFrom('content_caches')
      .select(['id', 'name', 'host', 'created_at'])
      .where('id', '=', id)
      .execute();
    return (await this.complete(rows))[0];
  }

  async findByName(name: string): Promise<ContentCache | undefined> {
    const rows = await this.database
      .selectFrom('content_caches')
      .select(['id', 'name', 'host', 'created_at'])
      .where('name', '=', name)
      .execute();
    return (await this.complete(rows))[0];
  }

  /**
   * Replaces a cache's members (the first also becomes `host`) and, when given, its networks.
   * @returns the cache as it is now, or undefined if it was deleted meanwhile.
   * @throws RegistryError `INVALID_REQUEST` for a bad member count or too many networks;
   *   `CONFLICT` for a host that is a member of another cache.
   */
  async update(
    id: number,
    change: { hosts?: readonly string[]; networks?: readonly string[] },
  ): Promise<ContentCache | undefined> {
    if (change.hosts) checkMembers(change.hosts);
    if (change.networks) checkNetworks(change.networks);
    const updated = await this.database.transaction().execute(async (transaction) => {
      if (change.hosts) await assertHostsFree(transaction, change.hosts, id);
      const exists = await transaction
        .updateTable('content_caches')
        .set(change.hosts ? { host: change.hosts[0] as string } : { id })
        .where('id', '=', id)
        .executeTakeFirst();
      if (exists.numUpdatedRows === 0n) return false;
      if (change.hosts) {
        await transaction.deleteFrom('content_cache_members').where('cache_id', '=', id).execute();
        await insertMembers(transaction, id, change.hosts);
        await transaction
          .deleteFrom('cache_member_health')
          .where('cache_id', '=', id)
          .where('host', 'not in', change.hosts)
          .execute();
      }
      if (change.networks) {
        await transaction.deleteFrom('content_cache_networks').where('cache_id', '=', id).execute();
        await insertNetworks(transaction, id, change.networks);
      }
      return true;
    });
    return updated ? this.find(id) : undefined;
  }

  /** Deletes a cache; every setting that named it goes back to automatic (ON DELETE SET NULL). */
  async delete(id: number): Promise<boolean> {
    const deleted = await this.database
      .deleteFrom('content_caches')
      .where('id', '=', id)
      .executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  }

  /**
   * What an account chose: a cache (with its members, in one query: this is on every blob
   * request), no cache, or nothing (automatic).
   */
  async choiceOf(account: Pick<Account, 'id'>): Promise<CacheChoice> {
    const rows = await this.database
      .selectFrom('account_settings as s')
      .leftJoin('content_caches as c', 'c.id', 's.content_cache_id')
      .leftJoin('content_cache_members as m', 'm.cache_id', 'c.id')
      .select([
        's.no_cache',
        'c.id',
        'c.name',
        'c.host',
        'c.created_at',
        'm.host as member',
        'm.position',
      ])
      .where('s.account_id', '=', account.id)
      .execute();
    const first = rows[0];
    if (!first) return { kind: 'automatic' };
    if (first.id === null || first.name === null || first.created_at === null)
      return first.no_cache === 1 ? { kind: 'none' } : { kind: 'automatic' };
    const hosts = membersOf(
      { host: first.host ?? '' },
      rows
        .filter((row) => row.member !== null)
        .sort((a, b) => (a.position ?? 0) - (b.position ?? 0))
        .map((row) => row.member as string),
    );
    return {
      kind: 'cache',
      cache: {
        id: first.id,
        name: first.name,
        host: hosts[0] ?? '',
        hosts,
        createdAt: first.created_at,
      },
    };
  }

  /** The cache an account chose, or undefined (no cache, or automatic). */
  async cacheOf(account: Pick<Account, 'id'>): Promise<CacheGroup | undefined> {
    const choice = await this.choiceOf(account);
    return choice.kind === 'cache' ? choice.cache : undefined;
  }

  /** Sets an account's choice: a cache, `none` (pull without a cache) or `automatic`. */
  async setChoice(
    account: Pick<Account, 'id'>,
    choice: Pick<ContentCache, 'id'> | 'none' | 'automatic',
  ): Promise<void> {
    const values = {
      content_cache_id: typeof choice === 'string' ? null : choice.id,
      no_cache: choice === 'none' ? 1 : 0,
    };
    await this.database
      .insertInto('account_settings')
      .values({ account_id: account.id, ...values })
      .onConflict((conflict) => conflict.column('account_id').doUpdateSet(values))
      .execute();
  }

  /** The caches of `rows` with their members and networks. */
  private async complete(rows: readonly CacheRow[]): Promise<ContentCache[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const members = await this.database
      .selectFrom('content_cache_members')
      .select(['cache_id', 'host'])
      .where('cache_id', 'in', ids)
      .orderBy('cache_id')
      .orderBy('position')
      .execute();
    const networks = await this.database
      .selectFrom('content_cache_networks')
      .select(['cache_id', 'cidr'])
      .where('cache_id', 'in', ids)
      .orderBy('cidr')
      .execute();
    const hostsOf = byCache(members, (member) => member.host);
    const networksOf = byCache(networks, (network) => network.cidr);
    return rows.map((row) =>
      toCache(row, membersOf(row, hostsOf.get(row.id)), networksOf.get(row.id) ?? []),
    );
  }
}

/** The values of `rows` grouped by their cache, in the rows' order. */
function byCache<Row extends { cache_id: number }>(
  rows: readonly Row[],
  value: (row: Row) => string,
): Map<number, string[]> {
  const grouped = new Map<number, string[]>();
  for (const row of rows) {
    const values = grouped.get(row.cache_id);
    if (values) values.push(value(row));
    else grouped.set(row.cache_id, [value(row)]);
  }
  return grouped;
}

function toCache(
  row: CacheRow,
  hosts: readonly string[],
  networks: readonly string[],
): ContentCache {
  return {
    id: row.id,
    name: row.name,
    host: hosts[0] ?? '',
    hosts,
    networks,
    createdAt: row.created_at,
  };
}

function checkMembers(hosts: readonly string[]): void {
  if (hosts.length === 0 || hosts.length > MAX_CACHE_MEMBERS)
    throw new RegistryError(
      'INVALID_REQUEST',
      `a content cache has 1 to ${MAX_CACHE_MEMBERS} members`,
      { detail: { hosts: hosts.length } },
    );
  if (new Set(hosts).size !== hosts.length)
    throw new RegistryError('INVALID_REQUEST', 'a member is listed twice', { detail: { hosts } });
}

function checkNetworks(networks: readonly string[]): void {
  if (networks.length > MAX_CACHE_NETWORKS)
    throw new RegistryError(
      'INVALID_REQUEST',
      `a content cache lists at most ${MAX_CACHE_NETWORKS} networks`,
      { detail: { networks: networks.length } },
    );
}

/**
 * @throws RegistryError `CONFLICT` if one of `hosts` is a member of another cache (than
 *   `except`): DTR would send two caches' users to one server, and count its health twice.
 */
async function assertHostsFree(
  database: Database,
  hosts: readonly string[],
  except?: number,
): Promise<void> {
  let query = database
    .selectFrom('content_cache_members')
    .innerJoin('content_caches', 'content_caches.id', 'content_cache_members.cache_id')
    .select(['content_cache_members.host', 'content_caches.name'])
    .where('content_cache_members.host', 'in', hosts);
  if (except !== undefined) query = query.where('content_caches.id', '!=', except);
  const taken = await query.executeTakeFirst();
  if (taken)
    throw new RegistryError('CONFLICT', 'this host is a member of another content cache', {
      detail: { host: taken.host, contentCache: taken.name },
    });
}

async function insertMembers(
  database: Database,
  cacheId: number,
  hosts: readonly string[],
): Promise<void> {
  await database
    .insertInto('content_cache_members')
    .values(hosts.map((host, position) => ({ cache_id: cacheId, host, position })))
    .execute();
}

async function insertNetworks(
  database: Database,
  cacheId: number,
  networks: readonly string[],
): Promise<void> {
  if (networks.length === 0) return;
  await database
    .insertInto('content_cache_networks')
    .values([...new Set(networks)].map((cidr) => ({ cache_id: cacheId, cidr })))
    .execute();
}

import { sql } from 'kysely';
import type { Database } from './schema';

/**
 * Who browses: an account (an administrator sees every repository) or nobody (public ones only).
 * The same rule as `AccessPolicy.canPull`, as a query: public repositories, the user's own, and
 * those of organizations the user is a member of (any role).
 */
export type Browser = { readonly id: number; readonly isAdmin: boolean } | undefined;

/** What a page of the repository list shows: the repositories `browser` may see, filtered. */
export interface RepositoryFilter {
  readonly browser: Browser;
  /** A substring of `namespace/name` (names are lower-case, so is the search). */
  readonly search?: string;
  readonly namespace?: string;
  readonly visibility?: 'public' | 'private';
}

/** A repository row of the list, with its tag count and its latest push. */
export interface RepositoryListRow {
  readonly id: number;
  readonly namespace: string;
  readonly namespace_id: number;
  readonly namespace_kind: 'user' | 'organization';
  readonly name: string;
  readonly visibility: 'public' | 'private';
  readonly created_at: string;
  readonly tagCount: number;
  /** The latest tag update or manifest push, if any. */
  readonly lastPushedAt: string | undefined;
}

/** A tag with the manifest it points at. */
export interface TagRow {
  readonly name: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly updatedAt: string;
}

/** `namespace/name` of a repository row joined with its namespace (`r`, `a`). */
const FULL_NAME = sql<string>`a.name || '/' || r.name`;

/** A LIKE pattern matching `text` anywhere, with `!` escaping the wildcards. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (match) => `!${match}`)}%`;
}

/** The later of two ISO timestamps (either may be missing). */
function later(a: string | null | undefined, b: string | null | undefined): string | undefined {
  if (!a) return b ?? undefined;
  if (!b) return a;
  return a > b ? a : b;
}

/** Repositories (joined with their namespace) that `filter` admits. */
function filtered(database: Database, filter: RepositoryFilter) {
  let query = database
    .selectFrom('repositories as r')
    .innerJoin('accounts as a', 'a.id', 'r.namespace_id');
  const { browser } = filter;
  if (browser === undefined) query = query.where('r.visibility', '=', 'public');
  else if (!browser.isAdmin)
    query = query.where((eb) =>
      eb.or([
        eb('r.visibility', '=', 'public'),
        eb('r.namespace_id', '=', browser.id),
        eb(
          'r.namespace_id',
          'in',
          eb.selectFrom('memberships').select('organization_id').where('user_id', '=', browser.id),
        ),
      ]),
    );
  if (filter.namespace !== undefined) query = query.where('a.name', '=', filter.namespace);
  if (filter.visibility !== undefined) query = query.where('r.visibility', '=', filter.visibility);
  if (filter.search !== undefined && filter.search !== '')
    query = query.where(
      sql<boolean>`${FULL_NAME} like ${containsPattern(filter.search.toLowerCase())} escape '!'`,
    );
  return query;
}

/**
 * One page of the repositories `filter` admits, in `namespace/name` order, and how many there
 * are in all. Costs two queries whatever the page; the per-row counts are subqueries on the
 * rows of the page only.
 */
export async function repositoryPage(
  database: Database,
  filter: RepositoryFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: RepositoryListRow[]; total: number }> {
  const rows = await filtered(database, filter)
    .select((eb) => [
      'r.id',
      'a.name as namespace',
      'a.id as namespace_id',
      'a.kind as namespace_kind',
      'r.name',
      'r.visibility',
      'r.created_at',
      eb
        .selectFrom('tags as t')
        .select((inner) => inner.fn.countAll<number>().as('count'))
        .whereRef('t.repository_id', '=', 'r.id')
        .as('tag_count'),
      eb
        .selectFrom('tags as t')
        .select((inner) => inner.fn.max('t.updated_at').as('latest'))
        .whereRef('t.repository_id', '=', 'r.id')
        .as('last_tagged'),
      eb
        .selectFrom('manifests as m')
        .select((inner) => inner.fn.max('m.created_at').as('latest'))
        .whereRef('m.repository_id', '=', 'r.id')
        .as('last_manifest'),
    ])
    .orderBy(FULL_NAME)
    .offset(page.offset)
    .limit(page.limit)
    .execute();
  const counted = await filtered(database, filter)
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  return {
    total: Number(counted.count),
    rows: rows.map((row) => ({
      id: row.id,
      namespace: row.namespace,
      namespace_id: row.namespace_id,
      namespace_kind: row.namespace_kind,
      name: row.name,
      visibility: row.visibility,
      created_at: row.created_at,
      tagCount: Number(row.tag_count ?? 0),
      lastPushedAt: later(row.last_tagged, row.last_manifest),
    })),
  };
}

/** The namespaces that have repositories `browser` may see, by name, at most `limit`. */
export async function repositoryNamespaces(
  database: Database,
  browser: Browser,
  limit: number,
): Promise<string[]> {
  const rows = await filtered(database, { browser })
    .select('a.name')
    .distinct()
    .orderBy('a.name')
    .limit(limit)
    .execute();
  return rows.map((row) => row.name);
}

/** How many tags a repository has, and when something was last pushed to it. */
export async function repositoryActivity(
  database: Database,
  repositoryId: number,
): Promise<{ tagCount: number; lastPushedAt: string | undefined }> {
  const tags = await database
    .selectFrom('tags')
    .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.max('updated_at').as('latest')])
    .where('repository_id', '=', repositoryId)
    .executeTakeFirstOrThrow();
  const manifests = await database
    .selectFrom('manifests')
    .select((eb) => eb.fn.max('created_at').as('latest'))
    .where('repository_id', '=', repositoryId)
    .executeTakeFirstOrThrow();
  return {
    tagCount: Number(tags.count),
    lastPushedAt: later(tags.latest, manifests.latest),
  };
}

/** One page of a repository's tags, the most recently pushed first, with their manifests. */
export async function tagPage(
  database: Database,
  repositoryId: number,
  page: { offset: number; limit: number },
): Promise<TagRow[]> {
  const rows = await database
    .selectFrom('tags as t')
    .innerJoin('manifests as m', (join) =>
      join
        .onRef('m.repository_id', '=', 't.repository_id')
        .onRef('m.digest', '=', 't.manifest_digest'),
    )
    .select(['t.name', 't.updated_at', 'm.digest', 'm.media_type', 'm.size'])
    .where('t.repository_id', '=', repositoryId)
    .orderBy('t.updated_at', 'desc')
    .orderBy('t.name')
    .offset(page.offset)
    .limit(page.limit)
    .execute();
  return rows.map((row) => ({
    name: row.name,
    digest: row.digest,
    mediaType: row.media_type,
    size: Number(row.size),
    updatedAt: row.updated_at,
  }));
}

/** The tag `name` of a repository with its manifest, or undefined. */
export async function tagOf(
  database: Database,
  repositoryId: number,
  name: string,
): Promise<TagRow | undefined> {
  const row = await database
    .selectFrom('tags as t')
    .innerJoin('manifests as m', (join) =>
      join
        .onRef('m.repository_id', '=', 't.repository_id')
        .onRef('m.digest', '=', 't.manifest_digest'),
    )
    .select(['t.name', 't.updated_at', 'm.digest', 'm.media_type', 'm.size'])
    .where('t.repository_id', '=', repositoryId)
    .where('t.name', '=', name)
    .executeTakeFirst();
  return (
    row && {
      name: row.name,
      digest: row.digest,
      mediaType: row.media_type,
      size: Number(row.size),
      updatedAt: row.updated_at,
    }
  );
}

import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Account } from './account-store';
import { type Kysely, sql } from 'kysely';
import { linkBlob, mountBlobLink, useBlobLinks } from './blob-links';
import { isUniqueViolation } from './database';
import { type ReferrerFields, referrerColumns } from './referrer-store';
import {
  type Browser,
  type RepositoryFilter,
  repositoryActivity,
  repositoryNamespaces,
  repositoryPage,
  tagOf,
  tagPage,
  type TagRow,
} from './repository-listing';
import type { Database, DtrSchema } from './schema';

export type Visibility = 'public' | 'private';

/** A repository `namespace/name`. */
export interface Repository {
  readonly id: number;
  readonly namespace: string;
  readonly namespaceId: number;
  readonly namespaceKind: 'user' | 'organization';
  readonly name: string;
  /** `namespace/name`, as in registry URLs. */
  readonly fullName: string;
  readonly visibility: Visibility;
  readonly createdAt: string;
}

/** A repository as the list shows it: with its tag count and when it was last pushed to. */
export interface RepositorySummary extends Repository {
  readonly tagCount: number;
  readonly lastPushedAt: string | undefined;
}

/** A manifest stored in a repository (its bytes live in the blob store). */
export interface StoredManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

interface RepositoryRow {
  id: number;
  namespace: string;
  namespace_id: number;
  namespace_kind: 'user' | 'organization';
  name: string;
  visibility: Visibility;
  created_at: string;
}

/** Repository names within a namespace: one lower-case component. */
export const REPOSITORY_COMPONENT_PATTERN = /^(?=.{1,128}$)[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

/** `namespace/name` of a repository row joined with its namespace (`r`, `a`). */
const FULL_NAME = sql<string>`a.name || '/' || r.name`;

function toRepository(row: RepositoryRow): Repository {
  return {
    id: row.id,
    namespace: row.namespace,
    namespaceId: row.namespace_id,
    namespaceKind: row.namespace_kind,
    name: row.name,
    fullName: `${row.namespace}/${row.name}`,
    visibility: row.visibility,
    createdAt: row.created_at,
  };
}

/**
 * Repositories, the blobs linked to each, manifests and tags. A blob is linked only after it is
 * committed to the blob store, so nothing ever links to a missing blob.
 */
export class RepositoryStore {
  constructor(private readonly database: Database) {}

  /**
   * @throws RegistryError `INVALID_REQUEST` for a bad name, `CONFLICT` if it exists.
   */
  async create(namespace: Account, name: string, visibility: Visibility): Promise<Repository> {
    if (!REPOSITORY_COMPONENT_PATTERN.test(name)) {
      throw new RegistryError('INVALID_REQUEST', 'invalid repository name', {
        detail: {
          name,
          reason:
            'one lower-case component of letters and digits, separated by ".", "_", "__" or "-"',
        },
      });
    }
    try {
      await this.database
        .insertInto('repositories')
        .values({
          namespace_id: namespace.id,
          name,
          visibility,
          created_at: new Date().toISOString(),
        })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new RegistryError('CONFLICT', 'repository already exists', {
          detail: { repository: `${namespace.name}/${name}` },
        });
      }
      throw error;
    }
    return (await this.find(`${namespace.name}/${name}`)) as Repository;
  }

  /** The repository of a full name `namespace/name`, or undefined. */
  async find(fullName: string): Promise<Repository | undefined> {
    const slash = fullName.indexOf('/');
    if (slash === -1 || fullName.indexOf('/', slash + 1) !== -1) return undefined;
    const row = await this.selectRepositories()
      .where('a.name', '=', fullName.slice(0, slash))
      .where('r.name', '=', fullName.slice(slash + 1))
      .executeTakeFirst();
    return row && toRepository(row);
  }

  /** Repositories in name order, after `last`, at most `limit`; optionally only one namespace. */
  async list(
    options: { namespace?: string; after?: string; limit?: number } = {},
  ): Promise<Repository[]> {
    let query = this.selectRepositories()
      .where(FULL_NAME, '>', options.after ?? '')
      .orderBy(FULL_NAME);
    if (options.namespace !== undefined) query = query.where('a.name', '=', options.namespace);
    if (options.limit !== undefined) query = query.limit(options.limit);
    return (await query.execute()).map(toRepository);
  }

  /**
   * One page of the repositories `filter.browser` may see (the access policy's pull rule, as a
   * query), filtered, in name order, and how many match in all.
   */
  async browse(
    filter: RepositoryFilter,
    page: { offset: number; limit: number },
  ): Promise<{ repositories: RepositorySummary[]; total: number }> {
    const { rows, total } = await repositoryPage(this.database, filter, page);
    return {
      total,
      repositories: rows.map((row) => ({
        ...toRepository(row),
        tagCount: row.tagCount,
        lastPushedAt: row.lastPushedAt,
      })),
    };
  }

  /** The namespaces having repositories `browser` may see, by name, at most `limit`. */
  browseNamespaces(browser: Browser, limit: number): Promise<string[]> {
    return repositoryNamespaces(this.database, browser, limit);
  }

  /** How many tags the repository has and when something was last pushed to it. */
  activity(
    repository: Repository,
  ): Promise<{ tagCount: number; lastPushedAt: string | undefined }> {
    return repositoryActivity(this.database, repository.id);
  }

  /** One page of the repository's tags with their manifests, the most recently pushed first. */
  tagPage(repository: Repository, page: { offset: number; limit: number }): Promise<TagRow[]> {
    return tagPage(this.database, repository.id, page);
  }

  /** The tag `name` with its manifest, or undefined. */
  tag(repository: Repository, name: string): Promise<TagRow | undefined> {
    return tagOf(this.database, repository.id, name);
  }

  async setVisibility(repository: Repository, visibility: Visibility): Promise<Repository> {
    await this.database
      .updateTable('repositories')
      .set({ visibility })
      .where('id', '=', repository.id)
      .execute();
    return { ...repository, visibility };
  }

  async delete(repository: Repository): Promise<void> {
    await this.database.deleteFrom('repositories').where('id', '=', repository.id).execute();
  }

  /**
   * Links a committed blob to a repository (pushed or referenced there), or stamps its link as
   * just made (see blob-links.ts).
   */
  async linkBlob(
    repository: Repository,
    digest: string,
    size: number,
    database: Kysely<DtrSchema> = this.database,
  ): Promise<void> {
    await linkBlob(database, repository.id, digest, size);
  }

  /**
   * Mounts a blob linked to `source` into `target`, atomically with the check that the source
   * still links it; returns its size, or undefined if it does not (see blob-links.ts).
   */
  mountBlob(source: Repository, target: Repository, digest: string): Promise<number | undefined> {
    return mountBlobLink(this.database, source.id, target.id, digest);
  }

  /** The size of a blob linked to the repository, or undefined if it is not linked there. */
  async linkedBlobSize(repository: Repository, digest: string): Promise<number | undefined> {
    const row = await this.database
      .selectFrom('repository_blobs')
      .select('size')
      .where('repository_id', '=', repository.id)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row?.size;
  }

  /**
   * Bytes stored for a namespace: each distinct blob (layers, configs, manifests) linked to any of
   * its repositories, counted once however many of them link it.
   */
  async namespaceBytes(namespaceId: number): Promise<number> {
    const distinct = this.database
      .selectFrom('repository_blobs as b')
      .innerJoin('repositories as r', 'r.id', 'b.repository_id')
      .select(['b.digest', 'b.size'])
      .distinct()
      .where('r.namespace_id', '=', namespaceId)
      .as('d');
    const row = await this.database
      .selectFrom(distinct)
      .select(sql<number>`cast(coalesce(sum(d.size), 0) as bigint)`.as('bytes'))
      .executeTakeFirstOrThrow();
    return row.bytes;
  }

  /** True if a blob is linked to any repository of the namespace (storing it again adds nothing). */
  async namespaceHasBlob(namespaceId: number, digest: string): Promise<boolean> {
    const row = await this.database
      .selectFrom('repository_blobs as b')
      .innerJoin('repositories as r', 'r.id', 'b.repository_id')
      .select('b.size')
      .where('r.namespace_id', '=', namespaceId)
      .where('b.digest', '=', digest)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async unlinkBlob(repository: Repository, digest: string): Promise<boolean> {
    const deleted = await this.database
      .deleteFrom('repository_blobs')
      .where('repository_id', '=', repository.id)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  }

  /**
   * Records a manifest (and links its bytes as a blob) and optionally points a tag at it, in one
   * transaction. Two pushes of one tag at once (from two replicas) both succeed and the tag ends
   * at one of the two manifests, both of which are stored. With `referrer`, the manifest is
   * listed among the referrers of its subject. `blobs` (its config and layers) must be linked to
   * the repository; their links are stamped as used in the same transaction (see blob-links.ts).
   * @throws RegistryError `MANIFEST_BLOB_UNKNOWN` if one of `blobs` is not linked (any more).
   */
  async putManifest(
    repository: Repository,
    manifest: StoredManifest,
    tag: string | undefined,
    referrer?: ReferrerFields,
    blobs: readonly string[] = [],
  ): Promise<void> {
    const now = new Date().toISOString();
    await this.database.transaction().execute(async (transaction) => {
      const [missing] = await useBlobLinks(transaction, repository.id, blobs);
      if (missing !== undefined)
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', undefined, {
          detail: { digest: missing },
        });
      await transaction
        .insertInto('manifests')
        .values({
          repository_id: repository.id,
          digest: manifest.digest,
          media_type: manifest.mediaType,
          size: manifest.size,
          created_at: now,
          ...referrerColumns(referrer),
        })
        .onConflict((conflict) =>
          conflict.columns(['repository_id', 'digest']).doUpdateSet((eb) => ({
            media_type: eb.ref('excluded.media_type'),
            subject_digest: eb.ref('excluded.subject_digest'),
            artifact_type: eb.ref('excluded.artifact_type'),
            annotations: eb.ref('excluded.annotations'),
          })),
        )
        .execute();
      await this.linkBlob(repository, manifest.digest, manifest.size, transaction);
      if (tag !== undefined) {
        await transaction
          .insertInto('tags')
          .values({
            repository_id: repository.id,
            name: tag,
            manifest_digest: manifest.digest,
            updated_at: now,
          })
          .onConflict((conflict) =>
            conflict.columns(['repository_id', 'name']).doUpdateSet((eb) => ({
              manifest_digest: eb.ref('excluded.manifest_digest'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
    });
  }

  async manifest(repository: Repository, digest: string): Promise<StoredManifest | undefined> {
    const row = await this.database
      .selectFrom('manifests')
      .select(['digest', 'media_type', 'size'])
      .where('repository_id', '=', repository.id)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row && { digest: row.digest, mediaType: row.media_type, size: row.size };
  }

  /** The manifest a tag points at, or undefined. */
  async taggedManifest(repository: Repository, tag: string): Promise<StoredManifest | undefined> {
    const row = await this.database
      .selectFrom('tags as t')
      .innerJoin('manifests as m', (join) =>
        join
          .onRef('m.repository_id', '=', 't.repository_id')
          .onRef('m.digest', '=', 't.manifest_digest'),
      )
      .select(['m.digest', 'm.media_type', 'm.size'])
      .where('t.repository_id', '=', repository.id)
      .where('t.name', '=', tag)
      .executeTakeFirst();
    return row && { digest: row.digest, mediaType: row.media_type, size: row.size };
  }

  /** Deletes a manifest and every tag pointing at it; false if it was not there. */
  async deleteManifest(repository: Repository, digest: string): Promise<boolean> {
    const deleted = await this.database
      .deleteFrom('manifests')
      .where('repository_id', '=', repository.id)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  }

  async deleteTag(repository: Repository, tag: string): Promise<boolean> {
    const deleted = await this.database
      .deleteFrom('tags')
      .where('repository_id', '=', repository.id)
      .where('name', '=', tag)
      .executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  }

  /** Tag names in lexical order after `after`, at most `limit` (all if omitted). */
  async tags(
    repository: Repository,
    options: { after?: string; limit?: number } = {},
  ): Promise<string[]> {
    let query = this.database
      .selectFrom('tags')
      .select('name')
      .where('repository_id', '=', repository.id)
      .where('name', '>', options.after ?? '')
      .orderBy('name');
    if (options.limit !== undefined) query = query.limit(options.limit);
    return (await query.execute()).map((row) => row.name);
  }

  private selectRepositories() {
    return this.database
      .selectFrom('repositories as r')
      .innerJoin('accounts as a', 'a.id', 'r.namespace_id')
      .select([
        'r.id',
        'a.name as namespace',
        'a.id as namespace_id',
        'a.kind as namespace_kind',
        'r.name',
        'r.visibility',
        'r.created_at',
      ]);
  }
}

import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Account } from './account-store';
import type { Database } from './database';

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

const SELECT_REPOSITORY = `SELECT r.id, a.name AS namespace, a.id AS namespace_id, a.kind AS namespace_kind, r.name,
  r.visibility, r.created_at FROM repositories r JOIN accounts a ON a.id = r.namespace_id`;

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
 * Repositories, the blobs linked to each, manifests and tags, in SQLite. A blob is linked only
 * after it is committed to the blob store, so nothing ever links to a missing blob.
 */
export class RepositoryStore {
  constructor(private readonly database: Database) {}

  /**
   * @throws RegistryError `INVALID_REQUEST` for a bad name, `CONFLICT` if it exists.
   */
  create(namespace: Account, name: string, visibility: Visibility): Repository {
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
      this.database
        .prepare(
          'INSERT INTO repositories (namespace_id, name, visibility, created_at) VALUES (?, ?, ?, ?)',
        )
        .run(namespace.id, name, visibility, new Date().toISOString());
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new RegistryError('CONFLICT', 'repository already exists', {
          detail: { repository: `${namespace.name}/${name}` },
        });
      }
      throw error;
    }
    return this.find(`${namespace.name}/${name}`) as Repository;
  }

  /** The repository of a full name `namespace/name`, or undefined. */
  find(fullName: string): Repository | undefined {
    const slash = fullName.indexOf('/');
    if (slash === -1 || fullName.indexOf('/', slash + 1) !== -1) return undefined;
    const row = this.database
      .prepare(`${SELECT_REPOSITORY} WHERE a.name = ? AND r.name = ?`)
      .get(fullName.slice(0, slash), fullName.slice(slash + 1)) as RepositoryRow | undefined;
    return row && toRepository(row);
  }

  /** Repositories in name order, after `last`, at most `limit`; optionally only one namespace. */
  list(options: { namespace?: string; after?: string; limit?: number } = {}): Repository[] {
    const rows = this.database
      .prepare(
        `${SELECT_REPOSITORY} WHERE (? IS NULL OR a.name = ?) AND (a.name || '/' || r.name) > ?
         ORDER BY a.name || '/' || r.name LIMIT ?`,
      )
      .all(
        options.namespace ?? null,
        options.namespace ?? null,
        options.after ?? '',
        options.limit ?? -1,
      ) as RepositoryRow[];
    return rows.map(toRepository);
  }

  setVisibility(repository: Repository, visibility: Visibility): Repository {
    this.database
      .prepare('UPDATE repositories SET visibility = ? WHERE id = ?')
      .run(visibility, repository.id);
    return { ...repository, visibility };
  }

  delete(repository: Repository): void {
    this.database.prepare('DELETE FROM repositories WHERE id = ?').run(repository.id);
  }

  /** Links a committed blob to a repository (pushed, mounted or referenced there). */
  linkBlob(repository: Repository, digest: string, size: number): void {
    this.database
      .prepare(
        'INSERT OR IGNORE INTO repository_blobs (repository_id, digest, size) VALUES (?, ?, ?)',
      )
      .run(repository.id, digest, size);
  }

  /** The size of a blob linked to the repository, or undefined if it is not linked there. */
  linkedBlobSize(repository: Repository, digest: string): number | undefined {
    const row = this.database
      .prepare('SELECT size FROM repository_blobs WHERE repository_id = ? AND digest = ?')
      .get(repository.id, digest) as { size: number } | undefined;
    return row?.size;
  }

  /**
   * Bytes stored for a namespace: each distinct blob (layers, configs, manifests) linked to any of
   * its repositories, counted once however many of them link it.
   */
  namespaceBytes(namespaceId: number): number {
    const row = this.database
      .prepare(
        `SELECT COALESCE(SUM(size), 0) AS bytes FROM (
           SELECT DISTINCT b.digest, b.size FROM repository_blobs b
           JOIN repositories r ON r.id = b.repository_id WHERE r.namespace_id = ?)`,
      )
      .get(namespaceId) as { bytes: number };
    return row.bytes;
  }

  /** True if a blob is linked to any repository of the namespace (storing it again adds nothing). */
  namespaceHasBlob(namespaceId: number, digest: string): boolean {
    return (
      this.database
        .prepare(
          `SELECT 1 FROM repository_blobs b JOIN repositories r ON r.id = b.repository_id
           WHERE r.namespace_id = ? AND b.digest = ? LIMIT 1`,
        )
        .get(namespaceId, digest) !== undefined
    );
  }

  unlinkBlob(repository: Repository, digest: string): boolean {
    return (
      this.database
        .prepare('DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ?')
        .run(repository.id, digest).changes > 0
    );
  }

  /** Records a manifest (and links its bytes as a blob) and optionally points a tag at it, atomically. */
  putManifest(repository: Repository, manifest: StoredManifest, tag: string | undefined): void {
    const now = new Date().toISOString();
    this.database.transaction(() => {
      this.database
        .prepare(
          `INSERT INTO manifests (repository_id, digest, media_type, size, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (repository_id, digest) DO UPDATE SET media_type = excluded.media_type`,
        )
        .run(repository.id, manifest.digest, manifest.mediaType, manifest.size, now);
      this.linkBlob(repository, manifest.digest, manifest.size);
      if (tag !== undefined) {
        this.database
          .prepare(
            `INSERT INTO tags (repository_id, name, manifest_digest, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at`,
          )
          .run(repository.id, tag, manifest.digest, now);
      }
    })();
  }

  manifest(repository: Repository, digest: string): StoredManifest | undefined {
    const row = this.database
      .prepare(
        'SELECT digest, media_type, size FROM manifests WHERE repository_id = ? AND digest = ?',
      )
      .get(repository.id, digest) as
      { digest: string; media_type: string; size: number } | undefined;
    return row && { digest: row.digest, mediaType: row.media_type, size: row.size };
  }

  /** The manifest a tag points at, or undefined. */
  taggedManifest(repository: Repository, tag: string): StoredManifest | undefined {
    const row = this.database
      .prepare(
        `SELECT m.digest, m.media_type, m.size FROM tags t JOIN manifests m
         ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest WHERE t.repository_id = ? AND t.name = ?`,
      )
      .get(repository.id, tag) as { digest: string; media_type: string; size: number } | undefined;
    return row && { digest: row.digest, mediaType: row.media_type, size: row.size };
  }

  /** Deletes a manifest and every tag pointing at it; false if it was not there. */
  deleteManifest(repository: Repository, digest: string): boolean {
    return (
      this.database
        .prepare('DELETE FROM manifests WHERE repository_id = ? AND digest = ?')
        .run(repository.id, digest).changes > 0
    );
  }

  deleteTag(repository: Repository, tag: string): boolean {
    return (
      this.database
        .prepare('DELETE FROM tags WHERE repository_id = ? AND name = ?')
        .run(repository.id, tag).changes > 0
    );
  }

  /** Tag names in lexical order after `after`, at most `limit` (all if omitted). */
  tags(repository: Repository, options: { after?: string; limit?: number } = {}): string[] {
    const rows = this.database
      .prepare('SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?')
      .all(repository.id, options.after ?? '', options.limit ?? -1) as Array<{ name: string }>;
    return rows.map((row) => row.name);
  }
}

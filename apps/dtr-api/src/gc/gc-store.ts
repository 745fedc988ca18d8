import type { Database } from '../store/schema';

/** A manifest row's key and size. */
export interface ManifestRow {
  readonly repositoryId: number;
  readonly digest: string;
  readonly size: number;
}

/**
 * What garbage collection reads and changes in the database: the manifests it marks from, and the
 * links of blobs to repositories (`repository_blobs`, see store/blob-links.ts) it checks and
 * deletes.
 */
export class GcStore {
  constructor(private readonly database: Database) {}

  /**
   * Stamps the links that carry no time (made by a release before schema 8) as made at `now`, so
   * that they age from the first collection on; returns how many.
   */
  async stampUntimedLinks(now: Date): Promise<number> {
    const result = await this.database
      .updateTable('repository_blobs')
      .set({ linked_at: now.toISOString() })
      .where('linked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Manifests in key order after `after` (all from the first), at most `limit`. */
  async manifestPage(after: ManifestRow | undefined, limit: number): Promise<ManifestRow[]> {
    let query = this.database
      .selectFrom('manifests')
      .select(['repository_id', 'digest', 'size'])
      .orderBy('repository_id')
      .orderBy('digest')
      .limit(limit);
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb('repository_id', '>', after.repositoryId),
          eb.and([eb('repository_id', '=', after.repositoryId), eb('digest', '>', after.digest)]),
        ]),
      );
    }
    return (await query.execute()).map((row) => ({
      repositoryId: row.repository_id,
      digest: row.digest,
      size: Number(row.size),
    }));
  }

  /** Manifests pushed at or after `since` (by this release or an older one). */
  async manifestsPushedSince(since: Date): Promise<ManifestRow[]> {
    const rows = await this.database
      .selectFrom('manifests')
      .select(['repository_id', 'digest', 'size'])
      .where('created_at', '>=', since.toISOString())
      .execute();
    return rows.map((row) => ({
      repositoryId: row.repository_id,
      digest: row.digest,
      size: Number(row.size),
    }));
  }

  /** True if a link of `digest` was made or used at or after `cutoff`, or carries no time. */
  async hasRecentLink(digest: string, cutoff: Date): Promise<boolean> {
    const row = await this.database
      .selectFrom('repository_blobs')
      .select('repository_id')
      .where('digest', '=', digest)
      .where((eb) =>
        eb.or([eb('linked_at', 'is', null), eb('linked_at', '>=', cutoff.toISOString())]),
      )
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Deletes the links of `digest` made and last used before `cutoff`, in one statement: a link a
   * push stamps meanwhile is not deleted (PostgreSQL checks a row a concurrent transaction changed
   * again; SQLite has one writer at a time). Returns how many were deleted.
   */
  async deleteStaleLinks(digest: string, cutoff: Date): Promise<number> {
    const result = await this.database
      .deleteFrom('repository_blobs')
      .where('digest', '=', digest)
      .where('linked_at', '<', cutoff.toISOString())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** True if any repository links `digest`. */
  async isLinked(digest: string): Promise<boolean> {
    const row = await this.database
      .selectFrom('repository_blobs')
      .select('repository_id')
      .where('digest', '=', digest)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }
}

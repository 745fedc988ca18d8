import type { Kysely } from 'kysely';
import type { DtrSchema } from './schema';

// The links of blobs to repositories (`repository_blobs`), each stamped with when a push last made
// or used it (`linked_at`). Garbage collection (gc/) deletes the links a push has not made or used
// within its grace period, and a blob only once no link is left: so a push links and stamps in
// the same statement or transaction that checks what it relies on, and a push racing a collection
// either keeps the blob (its fresh stamp) or is refused (the link it relied on is gone).

/** Digests per statement (well below either engine's limit on bound parameters). */
const BATCH = 500;

/** Links a committed blob to a repository, or stamps its link as just made. */
export async function linkBlob(
  database: Kysely<DtrSchema>,
  repositoryId: number,
  digest: string,
  size: number,
): Promise<void> {
  await database
    .insertInto('repository_blobs')
    .values({ repository_id: repositoryId, digest, size, linked_at: new Date().toISOString() })
    .onConflict((conflict) =>
      conflict
        .columns(['repository_id', 'digest'])
        .doUpdateSet((eb) => ({ linked_at: eb.ref('excluded.linked_at') })),
    )
    .execute();
}

/**
 * Links blob `digest` of repository `sourceId` to repository `targetId` (a cross-repository
 * mount), in one transaction that first locks the source's link: a garbage collection deleting
 * that link waits for the mount (and then sees the target's fresh link), or has deleted it, and
 * nothing is mounted. Returns the blob's size, or undefined if the source has no such link.
 */
export async function mountBlobLink(
  database: Kysely<DtrSchema>,
  sourceId: number,
  targetId: number,
  digest: string,
): Promise<number | undefined> {
  return database.transaction().execute(async (transaction) => {
    // An UPDATE that changes nothing: a row lock on PostgreSQL, the write lock on SQLite.
    const locked = await transaction
      .updateTable('repository_blobs')
      .set((eb) => ({ size: eb.ref('size') }))
      .where('repository_id', '=', sourceId)
      .where('digest', '=', digest)
      .returning('size')
      .executeTakeFirst();
    if (!locked) return undefined;
    await linkBlob(transaction, targetId, digest, locked.size);
    return locked.size;
  });
}

/**
 * Stamps the links of `digests` in a repository as just used (a manifest pushed there refers to
 * them), inside the manifest's transaction; returns the digests that have no link there (the
 * manifest must then be refused). The stamp locks the links, so a garbage collection cannot delete
 * them between this check and the manifest's commit.
 */
export async function useBlobLinks(
  transaction: Kysely<DtrSchema>,
  repositoryId: number,
  digests: readonly string[],
): Promise<string[]> {
  const wanted = [...new Set(digests)];
  const now = new Date().toISOString();
  const missing: string[] = [];
  for (let start = 0; start < wanted.length; start += BATCH) {
    const batch = wanted.slice(start, start + BATCH);
    const stamped = await transaction
      .updateTable('repository_blobs')
      .set({ linked_at: now })
      .where('repository_id', '=', repositoryId)
      .where('digest', 'in', batch)
      .returning('digest')
      .execute();
    const found = new Set(stamped.map((row) => row.digest));
    missing.push(...batch.filter((digest) => !found.has(digest)));
  }
  return missing;
}

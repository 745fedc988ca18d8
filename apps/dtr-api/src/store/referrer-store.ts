import type { Database } from './schema';
import type { Repository } from './repository-store';

/** What makes a manifest a referrer (OCI 1.1): the digest its `subject` names, and how it is listed. */
export interface ReferrerFields {
  readonly subject: string;
  /** Its `artifactType`; else, for an image manifest, its config's media type; else none. */
  readonly artifactType: string | undefined;
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

/** One descriptor of a referrers answer. */
export interface Referrer {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | undefined;
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

/**
 * The referrers of manifests: the manifests of a repository whose `subject` names a digest (kept
 * in the manifests' own rows, so deleting a manifest removes it from every answer).
 */
export class ReferrerStore {
  constructor(private readonly database: Database) {}

  /**
   * The referrers of `subject` in `repository`, ordered by digest, after `after`, at most
   * `limit`; with `artifactType`, only those of that type.
   */
  async referrers(
    repository: Repository,
    subject: string,
    options: { artifactType?: string; after?: string; limit: number },
  ): Promise<Referrer[]> {
    let query = this.database
      .selectFrom('manifests')
      .select(['digest', 'media_type', 'size', 'artifact_type', 'annotations'])
      .where('repository_id', '=', repository.id)
      .where('subject_digest', '=', subject)
      .where('digest', '>', options.after ?? '')
      .orderBy('digest')
      .limit(options.limit);
    if (options.artifactType !== undefined)
      query = query.where('artifact_type', '=', options.artifactType);
    return (await query.execute()).map((row) => ({
      digest: row.digest,
      mediaType: row.media_type,
      size: row.size,
      artifactType: row.artifact_type ?? undefined,
      annotations:
        row.annotations === null
          ? undefined
          : (JSON.parse(row.annotations) as Record<string, string>),
    }));
  }

  /**
   * The manifests among `digests` in `repository` never examined for a `subject` (pushed before
   * schema 7, or by a replica of the release before), with their media types.
   */
  async unrecorded(
    repository: Repository,
    digests: readonly string[],
  ): Promise<Array<{ digest: string; mediaType: string }>> {
    if (digests.length === 0) return [];
    const rows = await this.database
      .selectFrom('manifests')
      .select(['digest', 'media_type'])
      .where('repository_id', '=', repository.id)
      .where('digest', 'in', digests)
      .where('subject_digest', 'is', null)
      .execute();
    return rows.map((row) => ({ digest: row.digest, mediaType: row.media_type }));
  }

  /**
   * Records what manifest `digest`, already in `repository`, refers to: `fields`, or undefined
   * when it has no (valid) `subject`. Once recorded, a manifest is never examined again.
   */
  async record(
    repository: Repository,
    digest: string,
    fields: ReferrerFields | undefined,
  ): Promise<void> {
    await this.recordAll(repository, [{ digest, fields }]);
  }

  /** {@link record} for several manifests, in one transaction (one commit, not one each). */
  async recordAll(
    repository: Repository,
    manifests: ReadonlyArray<{ digest: string; fields: ReferrerFields | undefined }>,
  ): Promise<void> {
    if (manifests.length === 0) return;
    await this.database.transaction().execute(async (transaction) => {
      for (const { digest, fields } of manifests)
        await transaction
          .updateTable('manifests')
          .set(referrerColumns(fields))
          .where('repository_id', '=', repository.id)
          .where('digest', '=', digest)
          .execute();
    });
  }
}

/**
 * The manifest row's referrer columns. `subject_digest` is `''` for a manifest without a subject:
 * NULL is kept for manifests nobody examined yet (see {@link ReferrerStore.unrecorded}).
 */
export function referrerColumns(fields: ReferrerFields | undefined): {
  subject_digest: string;
  artifact_type: string | null;
  annotations: string | null;
} {
  return {
    subject_digest: fields?.subject ?? '',
    artifact_type: fields?.artifactType ?? null,
    annotations:
      fields?.annotations === undefined || Object.keys(fields.annotations).length === 0
        ? null
        : JSON.stringify(fields.annotations),
  };
}

import { type Selectable, sql } from 'kysely';
import { lockAccount } from './row-locks';
import type { Database, UploadSessionsTable } from './schema';

/** An upload session as stored: what survives a restart. */
export interface UploadSessionRecord {
  readonly id: string;
  readonly repositoryId: number;
  /** The account that started it (the caps count per account). */
  readonly accountId: number;
  /** The temp file holding its bytes. */
  readonly tempKey: string;
  /** Bytes received and kept so far. */
  readonly size: number;
  readonly startedAt: Date;
  /** The end of its last request. */
  readonly activeAt: Date;
}

function toRecord(row: Selectable<UploadSessionsTable>): UploadSessionRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    accountId: row.account_id,
    tempKey: row.temp_key,
    size: row.size,
    startedAt: new Date(row.started_at),
    activeAt: new Date(row.active_at),
  };
}

/** A request's hold on a session: which process, and until when unless renewed. */
export interface SessionClaim {
  readonly owner: string;
  readonly until: Date;
}

/** Limits on sessions open at once, checked when one starts. */
export interface UploadSessionCaps {
  readonly perAccount: number;
  readonly total: number;
}

/** Why a session could not start: which cap is reached, and the oldest activity under it. */
export interface CapReached {
  readonly cap: 'account' | 'total';
  readonly limit: number;
  /** The least recent activity among the sessions counted (the first to expire). */
  readonly oldestActivity: Date;
}

/**
 * Blob upload sessions in the database: every replica (and a restarted process) sees the same
 * sessions, and the caps count them all.
 */
export class UploadSessionStore {
  constructor(private readonly database: Database) {}

  /**
   * Inserts a session unless a cap is reached (checked and inserted in one transaction, with the
   * account's row locked: replicas starting sessions of one account at once cannot pass its cap;
   * the total may be passed by as many sessions as start in the same instant).
   */
  async insert(
    record: UploadSessionRecord,
    caps: UploadSessionCaps,
    claim: SessionClaim,
  ): Promise<CapReached | undefined> {
    return this.database.transaction().execute(async (transaction) => {
      await lockAccount(transaction, record.accountId);
      const count = (accountId: number | undefined) => {
        let query = transaction
          .selectFrom('upload_sessions')
          .select([
            (eb) => eb.fn.countAll<number>().as('count'),
            (eb) => eb.fn.min('active_at').as('oldest'),
          ]);
        if (accountId !== undefined) query = query.where('account_id', '=', accountId);
        return query.executeTakeFirstOrThrow();
      };
      const mine = await count(record.accountId);
      if (mine.count >= caps.perAccount)
        return {
          cap: 'account',
          limit: caps.perAccount,
          oldestActivity: new Date(mine.oldest ?? record.activeAt),
        };
      const all = await count(undefined);
      if (all.count >= caps.total)
        return {
          cap: 'total',
          limit: caps.total,
          oldestActivity: new Date(all.oldest ?? record.activeAt),
        };
      await transaction
        .insertInto('upload_sessions')
        .values({
          id: record.id,
          repository_id: record.repositoryId,
          account_id: record.accountId,
          temp_key: record.tempKey,
          size: record.size,
          started_at: record.startedAt.toISOString(),
          active_at: record.activeAt.toISOString(),
          claimed_by: claim.owner,
          claimed_until: claim.until.toISOString(),
        })
        .execute();
      return undefined;
    });
  }

  async find(id: string): Promise<UploadSessionRecord | undefined> {
    const row = await this.database
      .selectFrom('upload_sessions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /**
   * Claims session `id` for a request of `claim.owner`, unless another request holds it (its
   * claim has not run out). Returns the session, `busy`, or undefined if there is none.
   */
  async claim(
    id: string,
    claim: SessionClaim,
    now: Date,
  ): Promise<UploadSessionRecord | 'busy' | undefined> {
    const row = await this.database
      .updateTable('upload_sessions')
      .set({ claimed_by: claim.owner, claimed_until: claim.until.toISOString() })
      .where('id', '=', id)
      .where((eb) =>
        eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now.toISOString())]),
      )
      .returningAll()
      .executeTakeFirst();
    if (row) return toRecord(row);
    return (await this.find(id)) ? 'busy' : undefined;
  }

  /** Extends a claim this owner holds (a long request keeps its session). */
  async renewClaim(id: string, claim: SessionClaim): Promise<void> {
    await this.database
      .updateTable('upload_sessions')
      .set({ claimed_until: claim.until.toISOString() })
      .where('id', '=', id)
      .where('claimed_by', '=', claim.owner)
      .execute();
  }

  /** Gives up a claim this owner holds, without other changes. */
  async unclaim(id: string, owner: string): Promise<void> {
    await this.database
      .updateTable('upload_sessions')
      .set({ claimed_by: null, claimed_until: null })
      .where('id', '=', id)
      .where('claimed_by', '=', owner)
      .execute();
  }

  /** Records the end of a request of `owner`: the bytes kept now; its claim ends. */
  async recordActivity(id: string, size: number, at: Date, owner: string): Promise<void> {
    await this.database
      .updateTable('upload_sessions')
      .set((eb) => ({
        size,
        active_at: at.toISOString(),
        claimed_by: eb
          .case()
          .when('claimed_by', '=', owner)
          .then(null)
          .else(eb.ref('claimed_by'))
          .end(),
        claimed_until: eb
          .case()
          .when('claimed_by', '=', owner)
          .then(null)
          .else(eb.ref('claimed_until'))
          .end(),
      }))
      .where('id', '=', id)
      .execute();
  }

  /** Forgets a session; true if it was there. */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.database
      .deleteFrom('upload_sessions')
      .where('id', '=', id)
      .executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  }

  /** Sessions with no activity since `cutoff` that no request holds at `now`. */
  async idleSince(cutoff: Date, now: Date): Promise<UploadSessionRecord[]> {
    const rows = await this.database
      .selectFrom('upload_sessions')
      .selectAll()
      .where('active_at', '<', cutoff.toISOString())
      .where((eb) =>
        eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now.toISOString())]),
      )
      .orderBy('active_at')
      .execute();
    return rows.map(toRecord);
  }

  /** Sessions open (of every replica). */
  async count(): Promise<number> {
    const row = await this.database
      .selectFrom('upload_sessions')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** The temp files of every session (to keep them when stale temp files are removed). */
  async tempKeys(): Promise<Set<string>> {
    const rows = await this.database.selectFrom('upload_sessions').select('temp_key').execute();
    return new Set(rows.map((row) => row.temp_key));
  }

  /** Bytes of the uploads in progress to the repositories of a namespace. */
  async pendingBytes(namespaceId: number): Promise<number> {
    const row = await this.database
      .selectFrom('upload_sessions as s')
      .innerJoin('repositories as r', 'r.id', 's.repository_id')
      .select(sql<number>`cast(coalesce(sum(s.size), 0) as bigint)`.as('bytes'))
      .where('r.namespace_id', '=', namespaceId)
      .executeTakeFirstOrThrow();
    return row.bytes;
  }
}

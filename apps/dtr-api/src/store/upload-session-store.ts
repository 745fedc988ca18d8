import type { Database } from './database';

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

interface SessionRow {
  id: string;
  repository_id: number;
  account_id: number;
  temp_key: string;
  size: number;
  started_at: string;
  active_at: string;
}

function toRecord(row: SessionRow): UploadSessionRecord {
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

  /** Inserts a session unless a cap is reached (checked and inserted in one transaction). */
  insert(record: UploadSessionRecord, caps: UploadSessionCaps): CapReached | undefined {
    return this.database.transaction((): CapReached | undefined => {
      const count = (where: string, ...values: unknown[]) =>
        this.database
          .prepare(
            `SELECT COUNT(*) AS count, MIN(active_at) AS oldest FROM upload_sessions ${where}`,
          )
          .get(...values) as { count: number; oldest: string | null };
      const mine = count('WHERE account_id = ?', record.accountId);
      if (mine.count >= caps.perAccount)
        return {
          cap: 'account',
          limit: caps.perAccount,
          oldestActivity: new Date(mine.oldest ?? record.activeAt),
        };
      const all = count('');
      if (all.count >= caps.total)
        return {
          cap: 'total',
          limit: caps.total,
          oldestActivity: new Date(all.oldest ?? record.activeAt),
        };
      this.database
        .prepare(
          `INSERT INTO upload_sessions (id, repository_id, account_id, temp_key, size, started_at, active_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          record.id,
          record.repositoryId,
          record.accountId,
          record.tempKey,
          record.size,
          record.startedAt.toISOString(),
          record.activeAt.toISOString(),
        );
      return undefined;
    })();
  }

  find(id: string): UploadSessionRecord | undefined {
    const row = this.database.prepare('SELECT * FROM upload_sessions WHERE id = ?').get(id) as
      SessionRow | undefined;
    return row && toRecord(row);
  }

  /** Records the end of a request: the bytes kept now. */
  recordActivity(id: string, size: number, at: Date): void {
    this.database
      .prepare('UPDATE upload_sessions SET size = ?, active_at = ? WHERE id = ?')
      .run(size, at.toISOString(), id);
  }

  /** Forgets a session; true if it was there. */
  delete(id: string): boolean {
    return this.database.prepare('DELETE FROM upload_sessions WHERE id = ?').run(id).changes > 0;
  }

  /** Sessions with no activity since `cutoff`. */
  idleSince(cutoff: Date): UploadSessionRecord[] {
    return (
      this.database
        .prepare('SELECT * FROM upload_sessions WHERE active_at < ? ORDER BY active_at')
        .all(cutoff.toISOString()) as SessionRow[]
    ).map(toRecord);
  }

  /** The temp files of every session (to keep them when stale temp files are removed). */
  tempKeys(): Set<string> {
    const rows = this.database.prepare('SELECT temp_key FROM upload_sessions').all() as Array<{
      temp_key: string;
    }>;
    return new Set(rows.map((row) => row.temp_key));
  }

  /** Bytes of the uploads in progress to the repositories of a namespace. */
  pendingBytes(namespaceId: number): number {
    const row = this.database
      .prepare(
        `SELECT COALESCE(SUM(s.size), 0) AS bytes FROM upload_sessions s
         JOIN repositories r ON r.id = s.repository_id WHERE r.namespace_id = ?`,
      )
      .get(namespaceId) as { bytes: number };
    return row.bytes;
  }
}

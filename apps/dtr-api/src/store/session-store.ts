import { createHash, randomBytes } from 'node:crypto';
import type { Account } from './account-store';
import type { Database } from './database';

/** A signed-in browser session of the web UI. */
export interface Session {
  readonly accountId: number;
  readonly accountName: string;
  /** The synchronizer token every state-changing request of this session must carry. */
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

interface SessionRow {
  id: number;
  name: string;
  csrf_token: string;
  expires_at: string;
}

/** Only a hash of the cookie value is stored: a leaked database does not yield live sessions. */
function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Web UI sessions in SQLite: the cookie holds 32 random bytes, the table their SHA-256, the account
 * and a per-session CSRF token. Sessions expire after a fixed lifetime, are ended by signing out,
 * and vanish with their account.
 */
export class SessionStore {
  constructor(
    private readonly database: Database,
    private readonly lifetimeMs: number,
  ) {}

  /** Starts a session for `account`; returns the cookie value and the session. */
  create(
    account: Pick<Account, 'id' | 'name'>,
    now = new Date(),
  ): { token: string; session: Session } {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.lifetimeMs);
    this.database
      .prepare(
        'INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(hashOf(token), account.id, csrfToken, now.toISOString(), expiresAt.toISOString());
    this.database.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now.toISOString());
    return {
      token,
      session: { accountId: account.id, accountName: account.name, csrfToken, expiresAt },
    };
  }

  /** The live session of a cookie value, or undefined (unknown, ended or expired). */
  find(token: string, now = new Date()): Session | undefined {
    if (token === '' || token.length > 100) return undefined;
    const row = this.database
      .prepare(
        `SELECT accounts.id, accounts.name, sessions.csrf_token, sessions.expires_at FROM sessions
         JOIN accounts ON accounts.id = sessions.account_id
         WHERE sessions.token_hash = ? AND sessions.expires_at > ?`,
      )
      .get(hashOf(token), now.toISOString()) as SessionRow | undefined;
    return (
      row && {
        accountId: row.id,
        accountName: row.name,
        csrfToken: row.csrf_token,
        expiresAt: new Date(row.expires_at),
      }
    );
  }

  /**
   * Ends every session of an account (its password changed), but the one of `keep` (the cookie of
   * the browser that changed it), if given; returns how many ended.
   */
  endAll(account: Pick<Account, 'id'>, keep?: string): number {
    return this.database
      .prepare('DELETE FROM sessions WHERE account_id = ? AND token_hash IS NOT ?')
      .run(account.id, keep === undefined ? null : hashOf(keep)).changes;
  }

  /** Ends the session of a cookie value (signing out); true if there was one. */
  delete(token: string): boolean {
    return (
      this.database.prepare('DELETE FROM sessions WHERE token_hash = ?').run(hashOf(token))
        .changes > 0
    );
  }
}

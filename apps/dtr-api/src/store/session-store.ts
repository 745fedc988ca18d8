import { createHash, randomBytes } from 'node:crypto';
import type { Account } from './account-store';
import type { Database } from './schema';

/** A signed-in browser session of the web UI. */
export interface Session {
  readonly accountId: number;
  readonly accountName: string;
  /** The synchronizer token every state-changing request of this session must carry. */
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

/** Only a hash of the cookie value is stored: a leaked database does not yield live sessions. */
function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Web UI sessions in the database (every replica knows them): the cookie holds 32 random bytes, the table their SHA-256, the account
 * and a per-session CSRF token. Sessions expire after a fixed lifetime, are ended by signing out,
 * and vanish with their account.
 */
export class SessionStore {
  constructor(
    private readonly database: Database,
    private readonly lifetimeMs: number,
  ) {}

  /** Starts a session for `account`; returns the cookie value and the session. */
  async create(
    account: Pick<Account, 'id' | 'name'>,
    now = new Date(),
  ): Promise<{ token: string; session: Session }> {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.lifetimeMs);
    await this.database
      .insertInto('sessions')
      .values({
        token_hash: hashOf(token),
        account_id: account.id,
        csrf_token: csrfToken,
        created_at: now.toISOString(),
        expires_at: expiresAt.toISOString(),
      })
      .execute();
    await this.database
      .deleteFrom('sessions')
      .where('expires_at', '<=', now.toISOString())
      .execute();
    return {
      token,
      session: { accountId: account.id, accountName: account.name, csrfToken, expiresAt },
    };
  }

  /** The live session of a cookie value, or undefined (unknown, ended or expired). */
  async find(token: string, now = new Date()): Promise<Session | undefined> {
    if (token === '' || token.length > 100) return undefined;
    const row = await this.database
      .selectFrom('sessions')
      .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
      .select(['accounts.id', 'accounts.name', 'sessions.csrf_token', 'sessions.expires_at'])
      .where('sessions.token_hash', '=', hashOf(token))
      .where('sessions.expires_at', '>', now.toISOString())
      .executeTakeFirst();
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
  async endAll(account: Pick<Account, 'id'>, keep?: string): Promise<number> {
    let query = this.database.deleteFrom('sessions').where('account_id', '=', account.id);
    if (keep !== undefined) query = query.where('token_hash', '<>', hashOf(keep));
    return Number((await query.executeTakeFirst()).numDeletedRows);
  }

  /** Ends the session of a cookie value (signing out); true if there was one. */
  async delete(token: string): Promise<boolean> {
    const deleted = await this.database
      .deleteFrom('sessions')
      .where('token_hash', '=', hashOf(token))
      .executeTakeFirst();
    return deleted.numDeletedRows > 0n;
  }
}

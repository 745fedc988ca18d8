import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { formatBearerChallenge, RegistryError } from '@dtr-cache/registry-protocol';
import type { Account, AccountStore } from '../store/account-store';
import type { SessionStore } from '../store/session-store';
import { ANONYMOUS, type Principal } from './access-policy';
import { hashPassword, verifyPassword } from './password-hash';
import type { TokenAccess, TokenService } from './token-service';

/**
 * How a request authenticated: nothing, a bearer token (with its granted access), a password, or a
 * web UI session cookie (whose state-changing requests must carry the session's CSRF token).
 */
export type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly access: readonly TokenAccess[] }
  | { readonly kind: 'basic' }
  | { readonly kind: 'session'; readonly token: string; readonly csrfToken: string };

/** Name of the web UI's session cookie. */
export const SESSION_COOKIE = 'dtr_session';
/** Header carrying a web UI session's CSRF token on API calls made from the browser. */
export const CSRF_HEADER = 'X-CSRF-Token';

/** True if a sent CSRF token equals the expected one (compared in constant time; empty never matches). */
export function csrfTokenMatches(sent: string | undefined, expected: string | undefined): boolean {
  if (sent === undefined || expected === undefined || sent === '') return false;
  const [a, b] = [Buffer.from(sent), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface Authentication {
  readonly principal: Principal;
  readonly credentials: Credentials;
}

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hashPassword('dummy password never matched');
  return dummy;
}

/** Resolves the `Authorization` header of requests to a principal. */
export class Authenticator {
  constructor(
    private readonly accounts: AccountStore,
    private readonly tokens: TokenService,
    private readonly sessions: SessionStore,
    private readonly challenge: { service: string; realm: (ctx: Context) => string },
  ) {}

  /**
   * Authenticates by the `Authorization` header, or — with `allowSession`, and only without that
   * header — by the web UI's session cookie. An unknown or expired session is anonymous.
   * @throws RegistryError `UNAUTHORIZED` for wrong passwords and invalid or expired tokens.
   */
  async authenticate(
    ctx: Context,
    options: { allowSession?: boolean } = {},
  ): Promise<Authentication> {
    const header = ctx.get('Authorization');
    if (header === '') {
      const token = options.allowSession ? ctx.cookies.get(SESSION_COOKIE) : undefined;
      const session = token === undefined ? undefined : this.sessions.find(token);
      const account = session && this.accounts.find(session.accountName);
      if (token !== undefined && session && account?.kind === 'user') {
        return {
          principal: { kind: 'user', account },
          credentials: { kind: 'session', token, csrfToken: session.csrfToken },
        };
      }
      return { principal: ANONYMOUS, credentials: { kind: 'none' } };
    }
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space === -1 ? undefined : space).toLowerCase();
    const value = space === -1 ? '' : header.slice(space + 1).trim();
    if (scheme === 'basic')
      return { principal: await this.checkPassword(ctx, value), credentials: { kind: 'basic' } };
    if (scheme === 'bearer') {
      const token = await this.tokens.verify(value);
      if (!token)
        throw this.unauthorized(ctx, 'invalid or expired token', undefined, 'invalid_token');
      const account = token.subject === '' ? undefined : this.accounts.find(token.subject);
      if (token.subject !== '' && (!account || account.kind !== 'user')) {
        throw this.unauthorized(
          ctx,
          'the account of this token no longer exists',
          undefined,
          'invalid_token',
        );
      }
      return {
        principal: account ? { kind: 'user', account } : ANONYMOUS,
        credentials: { kind: 'bearer', access: token.access },
      };
    }
    throw this.unauthorized(ctx, `unsupported authorization scheme "${scheme}"`);
  }

  /** The 401 error with the Bearer challenge a client needs to obtain a token for `scope`. */
  unauthorized(ctx: Context, message: string, scope?: string, error?: string): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, {
      headers: {
        'WWW-Authenticate': formatBearerChallenge({
          realm: this.challenge.realm(ctx),
          service: this.challenge.service,
          ...(scope === undefined ? {} : { scope }),
          ...(error === undefined ? {} : { error }),
        }),
      },
    });
  }

  private async checkPassword(ctx: Context, encoded: string): Promise<Principal> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const name = colon === -1 ? decoded : decoded.slice(0, colon);
    const password = colon === -1 ? '' : decoded.slice(colon + 1);
    const account = await this.verifyPassword(name, password);
    if (!account) throw this.unauthorized(ctx, 'incorrect username or password');
    return { kind: 'user', account };
  }

  /**
   * The user with this name and password, or undefined. An unknown user costs the same scrypt as a
   * wrong password, so names cannot be enumerated by timing.
   */
  async verifyPassword(name: string, password: string): Promise<Account | undefined> {
    const account = this.accounts.find(name);
    const hash = this.accounts.passwordHash(name);
    // An unknown user costs the same scrypt as a wrong password: no user enumeration by timing.
    const matches = await verifyPassword(password, hash ?? (await dummyHash()));
    return hash && account?.kind === 'user' && matches ? account : undefined;
  }
}

import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { formatBearerChallenge, RegistryError } from '@dtr-cache/registry-protocol';
import { clientOf } from '../request-context';
import type { Account, AccountStore } from '../store/account-store';
import type { SessionStore } from '../store/session-store';
import { ANONYMOUS, type Principal } from './access-policy';
import type { PasswordGuard } from './password-guard';
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

/** Resolves the `Authorization` header of requests to a principal. */
export class Authenticator {
  constructor(
    private readonly accounts: AccountStore,
    private readonly tokens: TokenService,
    private readonly sessions: SessionStore,
    private readonly passwords: PasswordGuard,
    private readonly challenge: { service: string; realm: (ctx: Context) => string },
  ) {}

  /**
   * Authenticates by the `Authorization` header, or — with `allowSession`, and only without that
   * header — by the web UI's session cookie. An unknown or expired session is anonymous.
   * @throws RegistryError `UNAUTHORIZED` for wrong passwords and invalid or expired tokens (also
   *   those of a deleted account, or issued before its password changed); `TOOMANYREQUESTS` while
   *   failed password checks hold the account or client back.
   */
  async authenticate(
    ctx: Context,
    options: { allowSession?: boolean } = {},
  ): Promise<Authentication> {
    const header = ctx.get('Authorization');
    if (header === '') {
      const token = options.allowSession ? ctx.cookies.get(SESSION_COOKIE) : undefined;
      const session = token === undefined ? undefined : await this.sessions.find(token);
      const account = session && (await this.accounts.findById(session.accountId));
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
      const account = token.account && (await this.accounts.findById(token.account.id));
      if (
        token.account &&
        (!account || account.kind !== 'user' || account.generation !== token.account.generation)
      ) {
        throw this.unauthorized(
          ctx,
          'this token is no longer valid: its account was deleted or its password changed',
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
    const account = await this.verifyPassword(ctx, name, password);
    if (!account) throw this.unauthorized(ctx, 'incorrect username or password');
    return { kind: 'user', account };
  }

  /**
   * The user with this name and password, or undefined; throttled and bounded by the
   * {@link PasswordGuard} (the web UI's sign-in uses it too).
   * @throws RegistryError `TOOMANYREQUESTS` while failures hold the account or client back.
   */
  verifyPassword(ctx: Context, name: string, password: string): Promise<Account | undefined> {
    return this.passwords.check(name, password, clientOf(ctx));
  }
}

import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type AccessScope,
  exportGrantSigningKey,
  GRANT_TIME_RANGE,
  generateGrantSigningKey,
  type GrantSigningKey,
  importGrantSigningKey,
} from '@dtr-cache/registry-protocol';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';

/** One entry of a token's `access` claim (registry token specification). */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

/** Who a token is for: an account, named by its id and credential generation (not by name). */
export interface TokenSubject {
  readonly id: number;
  readonly name: string;
  readonly generation: number;
}

/** A verified registry token. */
export interface VerifiedToken {
  /** The account's name ('' for anonymous). */
  subject: string;
  /** The account it was issued to, undefined for anonymous. */
  account: { id: number; generation: number } | undefined;
  access: TokenAccess[];
}

const TOKEN_TYPE = 'JWT';

/**
 * Issues and verifies the registry bearer tokens of the Docker token specification: JWTs signed
 * with DTR's own Ed25519 key (`alg: EdDSA`), `aud` = the service, `sub` = the user's name ('' for
 * anonymous), `uid` and `gen` = the account's id and credential generation (the token is bound to
 * the account, not the name), `access` = the granted scopes.
 */
export class TokenService {
  private readonly keySet: ReturnType<typeof createLocalJWKSet>;

  constructor(
    private readonly key: GrantSigningKey,
    private readonly options: { issuer: string; service: string; lifetimeSeconds: number },
  ) {
    this.keySet = createLocalJWKSet({ keys: [key.publicKey] });
  }

  /** Loads the signing key from `keyFile`, generating and saving it (mode 0600) on first start. */
  static async loadKey(keyFile: string): Promise<GrantSigningKey> {
    if (existsSync(keyFile)) return importGrantSigningKey(readFileSync(keyFile, 'utf8'));
    const key = await generateGrantSigningKey();
    mkdirSync(dirname(keyFile), { recursive: true });
    // Written whole under another name, then linked into place (which fails if the file exists):
    // replicas sharing the file and starting at once all end up with the one key that won.
    const temporary = `${keyFile}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(temporary, exportGrantSigningKey(key), { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temporary, keyFile);
      return key;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return importGrantSigningKey(readFileSync(keyFile, 'utf8'));
    } finally {
      rmSync(temporary, { force: true });
    }
  }

  get lifetimeSeconds(): number {
    return this.options.lifetimeSeconds;
  }

  /** A token for `subject` (undefined: anonymous) granting `access`. */
  async issue(
    subject: TokenSubject | undefined,
    access: readonly AccessScope[],
    now = new Date(),
  ): Promise<string> {
    const issuedAt = Math.floor(now.getTime() / 1000);
    return new SignJWT({
      access: access.map(({ type, name, actions }) => ({ type, name, actions: [...actions] })),
      ...(subject ? { uid: subject.id, gen: subject.generation } : {}),
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.keyId, typ: TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.service)
      .setSubject(subject?.name ?? '')
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + this.options.lifetimeSeconds)
      .setJti(crypto.randomUUID())
      .sign(this.key.privateKey);
  }

  /** The token's subject and access, or undefined if it is not a valid, current token of this DTR. */
  async verify(token: string): Promise<VerifiedToken | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.keySet, {
        algorithms: ['EdDSA'],
        issuer: this.options.issuer,
        audience: this.options.service,
        typ: TOKEN_TYPE,
        clockTolerance: 30,
        requiredClaims: ['iat', 'exp'],
        // Issued at most a lifetime ago (also bounds an `exp` of absurd size).
        maxTokenAge: this.options.lifetimeSeconds + 30,
      });
      const { iat, exp } = payload as { iat: unknown; exp: unknown };
      const isTime = (value: unknown): value is number =>
        typeof value === 'number' &&
        Number.isSafeInteger(value) &&
        value >= GRANT_TIME_RANGE.min &&
        value <= GRANT_TIME_RANGE.max;
      if (!isTime(iat) || !isTime(exp) || exp <= iat) return undefined;
      const access = Array.isArray(payload['access']) ? (payload['access'] as TokenAccess[]) : [];
      const subject = typeof payload.sub === 'string' ? payload.sub : '';
      const { uid, gen } = payload as { uid?: unknown; gen?: unknown };
      const isCount = (value: unknown): value is number =>
        typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
      if (subject === '')
        return uid === undefined ? { subject, account: undefined, access } : undefined;
      // A named token must name its account by id and generation (older tokens named only a name).
      if (!isCount(uid) || !isCount(gen)) return undefined;
      return { subject, account: { id: uid, generation: gen }, access };
    } catch {
      return undefined;
    }
  }
}

import { readFile } from 'node:fs/promises';
import {
  type AccessScope,
  GRANT_TIME_RANGE,
  type GrantSigningKey,
  importGrantSigningKey,
} from '@dtr-cache/registry-protocol';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import type { SigningKeyring } from '../keys/signing-keyring';

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

/** The keys a {@link TokenService} signs and verifies with (all replicas share them). */
export type TokenKeys = Pick<SigningKeyring, 'signingKey' | 'publicKeys'>;

/**
 * The token signing key kept in `keyFile` by releases before keys were kept in the database, or
 * undefined when there is no such file: imported as the first key, so that tokens it signed (and
 * those replicas of such a release sign during a rolling upgrade) verify.
 * @throws Error for a file that is there but holds no Ed25519 private key.
 */
export async function readTokenKeyFile(keyFile: string): Promise<GrantSigningKey | undefined> {
  let pem: string;
  try {
    pem = await readFile(keyFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return importGrantSigningKey(pem);
}

/**
 * Issues and verifies the registry bearer tokens of the Docker token specification: JWTs signed
 * with DTR's Ed25519 token key (`alg: EdDSA`, its `kid`), `aud` = the service, `sub` = the user's
 * name ('' for anonymous), `uid` and `gen` = the account's id and credential generation (the
 * token is bound to the account, not the name), `access` = the granted scopes. The keys rotate
 * (`token_keys`, shared by the replicas): a token verifies against every key still published, so
 * any replica accepts what another signed.
 */
export class TokenService {
  private verifying: { ids: string; keySet: ReturnType<typeof createLocalJWKSet> } | undefined;

  constructor(
    private readonly keys: TokenKeys,
    private readonly options: { issuer: string; service: string; lifetimeSeconds: number },
  ) {}

  /** The published keys as a key set, made again only when they changed. */
  private keySet(): ReturnType<typeof createLocalJWKSet> {
    const keys = this.keys.publicKeys();
    const ids = keys.map((key) => key.kid).join(' ');
    if (this.verifying?.ids !== ids) this.verifying = { ids, keySet: createLocalJWKSet({ keys }) };
    return this.verifying.keySet;
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
    const key = this.keys.signingKey;
    return new SignJWT({
      access: access.map(({ type, name, actions }) => ({ type, name, actions: [...actions] })),
      ...(subject ? { uid: subject.id, gen: subject.generation } : {}),
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.keyId, typ: TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.service)
      .setSubject(subject?.name ?? '')
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + this.options.lifetimeSeconds)
      .setJti(crypto.randomUUID())
      .sign(key.privateKey);
  }

  /** The token's subject and access, or undefined if it is not a valid, current token of this DTR. */
  async verify(token: string): Promise<VerifiedToken | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.keySet(), {
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

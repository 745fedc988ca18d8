import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { Digest } from './digest';
import {
  type JoseFailure,
  isCount,
  isGrantPublicKey,
  isGrantTime,
  joseFailureOf,
} from './jwt-checks';
import { RegistryError } from './registry-error';

/**
 * Blob grants: the signed, short-lived permission DTR puts in a blob redirect.
 *
 * A grant is a compact JWS (a JWT) signed with Ed25519 (`alg: EdDSA`), header
 * `{alg, kid, typ: "dtr-blob-grant+jwt"}`, claims
 * `{iss, aud: "dtr-blob-grant", sub: user name, uid: account id, gen: credential generation,
 * repository, digest, iat, nbf, exp}`. The key id is the key's RFC 7638 thumbprint. Caches verify
 * grants offline with DTR's public keys, published as a JWKS document at
 * {@link BLOB_GRANT_KEYS_PATH} with the issuer beside the keys ({@link GrantKeySet}).
 */
export const BLOB_GRANT_ALGORITHM = 'EdDSA';

/** The `typ` header of a grant, so no other kind of JWT signed by the same key passes. */
export const BLOB_GRANT_TYPE = 'dtr-blob-grant+jwt';

/**
 * The `aud` of every grant: marks the token as a blob grant, so that no other token DTR signs (with
 * whatever key) passes as one at any hop.
 */
export const BLOB_GRANT_AUDIENCE = 'dtr-blob-grant';

/**
 * Sane bounds of a grant's time claims (seconds since the epoch): 2000-01-01 to 2100-01-01. A
 * claim outside them, or not a whole number, makes the grant malformed (a huge `exp` would
 * otherwise never expire, and arithmetic on it yields NaN).
 */
export const GRANT_TIME_RANGE = { min: 946_684_800, max: 4_102_444_800 } as const;

/** Where DTR (and every cache, relaying its upstream's keys) serves the grant keys as JWKS. */
export const BLOB_GRANT_KEYS_PATH = '/.well-known/jwks.json';

/** The public half of a grant signing key as a JWK. */
export interface GrantPublicKey extends JWK {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: typeof BLOB_GRANT_ALGORITHM;
  use: 'sig';
}

/**
 * A JWKS document of grant public keys. `issuer` (an extension member, which JWKS readers ignore
 * when they do not know it, RFC 7517 section 5) names the `iss` every grant signed by these keys
 * carries: a cache learns it with the keys and checks it on every grant.
 */
export interface GrantKeySet {
  keys: GrantPublicKey[];
  issuer?: string;
}

/** A private signing key with its id and public JWK. Never serialize `privateKey` outside DTR. */
export interface GrantSigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: GrantPublicKey;
}

/** Generates a new Ed25519 grant signing key. */
export async function generateGrantSigningKey(): Promise<GrantSigningKey> {
  const { privateKey } = generateKeyPairSync('ed25519');
  return grantSigningKeyFromPrivateKey(privateKey);
}

/**
 * Loads a signing key persisted with {@link exportGrantSigningKey} (PKCS#8 PEM).
 * @throws Error if the PEM is not an Ed25519 private key.
 */
export async function importGrantSigningKey(pem: string): Promise<GrantSigningKey> {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`grant signing key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  }
  return grantSigningKeyFromPrivateKey(privateKey);
}

/** The key as PKCS#8 PEM, for persisting it (keep the file private). */
export function exportGrantSigningKey(key: GrantSigningKey): string {
  return key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function grantSigningKeyFromPrivateKey(privateKey: KeyObject): Promise<GrantSigningKey> {
  const jwk = privateKey.export({ format: 'jwk' });
  const publicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string };
  const keyId = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    keyId,
    privateKey,
    publicKey: { ...publicJwk, kty: 'OKP', crv: 'Ed25519', kid: keyId, alg: 'EdDSA', use: 'sig' },
  };
}

/** What a grant permits. */
export interface BlobGrantRequest {
  repository: string;
  digest: Digest;
  /** The name of the user the grant is for (for logs). */
  subject: string;
  /** The user's account id: ids are never reused, so a deleted account's grants name nobody. */
  accountId: number;
  /**
   * The account's credential generation (it changes with the password): the origin refuses a
   * grant whose generation is not the account's current one.
   */
  generation: number;
  /** Lifetime in seconds; keep it short (a minute or so). */
  lifetimeSeconds: number;
  /** The issuer, checked by verifiers that are configured with one. */
  issuer: string;
  /** Issue time; defaults to now. */
  now?: Date;
}

/** Signs a grant for exactly one repository and digest. */
export async function signBlobGrant(
  key: GrantSigningKey,
  request: BlobGrantRequest,
): Promise<string> {
  if (!(request.lifetimeSeconds > 0)) throw new Error('grant lifetime must be positive');
  if (!isCount(request.accountId) || !isCount(request.generation))
    throw new Error('a grant needs a whole-number account id and generation');
  const issuedAt = Math.floor((request.now ?? new Date()).getTime() / 1000);
  return new SignJWT({
    repository: request.repository,
    digest: request.digest.toString(),
    uid: request.accountId,
    gen: request.generation,
  })
    .setProtectedHeader({ alg: BLOB_GRANT_ALGORITHM, kid: key.keyId, typ: BLOB_GRANT_TYPE })
    .setIssuer(request.issuer)
    .setAudience(BLOB_GRANT_AUDIENCE)
    .setSubject(request.subject)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + Math.ceil(request.lifetimeSeconds))
    .sign(key.privateKey);
}

/** A verified grant. */
export interface BlobGrant {
  readonly repository: string;
  readonly digest: string;
  /** The user's name. */
  readonly subject: string;
  /** The user's account id. */
  readonly accountId: number;
  /** The account's credential generation when the grant was signed. */
  readonly generation: number;
  readonly issuer: string;
  readonly keyId: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

/** Why a grant was refused. */
export type BlobGrantFailure =
  JoseFailure | 'missing' | 'lifetime' | 'repository' | 'digest' | 'revoked';

/** A refused grant: renders as `UNAUTHORIZED` (401), `detail.reason` says why. */
export class BlobGrantError extends RegistryError {
  constructor(
    readonly reason: BlobGrantFailure,
    options: { cause?: unknown } = {},
  ) {
    super('UNAUTHORIZED', 'a valid blob grant from DTR is required', {
      detail: { reason },
      cause: options.cause,
    });
    this.name = 'BlobGrantError';
  }
}

/** Options of a {@link BlobGrantVerifier}. */
export interface BlobGrantVerifierOptions {
  /**
   * Required `iss`. Without it, the key set's `issuer` is required instead; a verifier that knows
   * neither refuses every grant (`issuer`).
   */
  issuer?: string;
  /** Allowed clock skew in seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Longest accepted `exp - iat` in seconds (default 3600), bounding a leaked grant's use. */
  maxLifetimeSeconds?: number;
}

/** How many verified signatures a {@link BlobGrantVerifier} remembers (oldest forgotten first). */
const VERIFIED_GRANTS_REMEMBERED = 10_000;

/**
 * Verifies grants offline against a set of public keys. Accepts only `EdDSA` over Ed25519 keys with
 * a `kid` in the set, the grant `typ`, a valid time window and exactly the expected repository and
 * digest. Every refusal is a {@link BlobGrantError}; `unknown-key` tells the caller that refreshing
 * the key set may help.
 *
 * A token whose signature verified is remembered (a bounded number of them, forgotten when the key
 * set changes), so a repeated request with the same grant skips the signature check; its time
 * window, key, repository and digest are checked on every use.
 */
export class BlobGrantVerifier {
  private keySet: ReturnType<typeof createLocalJWKSet>;
  private keyIds: ReadonlySet<string>;
  private keySetIssuer: string | undefined;
  private readonly verified = new Map<string, BlobGrant>();

  constructor(
    keys: GrantKeySet,
    private readonly options: BlobGrantVerifierOptions = {},
  ) {
    [this.keySet, this.keyIds] = BlobGrantVerifier.load(keys);
    this.keySetIssuer = typeof keys?.issuer === 'string' ? keys.issuer : undefined;
  }

  private static load(keys: GrantKeySet): [ReturnType<typeof createLocalJWKSet>, Set<string>] {
    const usable = (Array.isArray(keys?.keys) ? keys.keys : []).filter(isGrantPublicKey);
    return [createLocalJWKSet({ keys: usable }), new Set(usable.map((key) => key.kid))];
  }

  /** Replaces the trusted keys (after fetching a fresh JWKS). */
  updateKeys(keys: GrantKeySet): void {
    [this.keySet, this.keyIds] = BlobGrantVerifier.load(keys);
    this.keySetIssuer = typeof keys?.issuer === 'string' ? keys.issuer : undefined;
    this.verified.clear();
  }

  /** The `iss` grants must carry: the configured one, else the key set's. */
  private get expectedIssuer(): string | undefined {
    return this.options.issuer ?? this.keySetIssuer;
  }

  /** True if `keyId` is among the trusted keys. */
  hasKey(keyId: string): boolean {
    return this.keyIds.has(keyId);
  }

  /**
   * Verifies `token` for `expected.repository` and `expected.digest`.
   * @throws BlobGrantError with the reason of the refusal.
   */
  async verify(
    token: string | undefined,
    expected: { repository: string; digest: Digest },
    now: Date = new Date(),
  ): Promise<BlobGrant> {
    if (token === undefined || token === '') throw new BlobGrantError('missing');
    let grant = this.verified.get(token);
    if (grant === undefined || !this.keyIds.has(grant.keyId)) {
      grant = await this.verifySignature(token, now);
      if (this.verified.size >= VERIFIED_GRANTS_REMEMBERED) {
        const oldest = this.verified.keys().next().value as string;
        this.verified.delete(oldest);
      }
      this.verified.set(token, grant);
    }
    if (grant.issuer !== this.expectedIssuer) throw new BlobGrantError('issuer');
    const tolerance = this.options.clockToleranceSeconds ?? 30;
    const seconds = now.getTime() / 1000;
    if (grant.expiresAt.getTime() / 1000 <= seconds - tolerance)
      throw new BlobGrantError('expired');
    if (grant.issuedAt.getTime() / 1000 > seconds + tolerance)
      throw new BlobGrantError('not-yet-valid');
    if (grant.repository !== expected.repository) throw new BlobGrantError('repository');
    if (grant.digest !== expected.digest.toString()) throw new BlobGrantError('digest');
    return grant;
  }

  /** Checks the header, the signature and the claims that do not depend on the request. */
  private async verifySignature(token: string, now: Date): Promise<BlobGrant> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch (cause) {
      throw new BlobGrantError('malformed', { cause });
    }
    if (header.alg !== BLOB_GRANT_ALGORITHM) throw new BlobGrantError('algorithm');
    if (typeof header.kid !== 'string' || header.typ !== BLOB_GRANT_TYPE) {
      throw new BlobGrantError('malformed');
    }
    if (!this.keyIds.has(header.kid)) throw new BlobGrantError('unknown-key');

    const issuer = this.expectedIssuer;
    if (issuer === undefined) throw new BlobGrantError('issuer');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.keySet, {
        algorithms: [BLOB_GRANT_ALGORITHM],
        typ: BLOB_GRANT_TYPE,
        currentDate: now,
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp'],
        issuer,
        audience: BLOB_GRANT_AUDIENCE,
      }));
    } catch (cause) {
      throw new BlobGrantError(joseFailureOf(cause), { cause });
    }
    const { iat, exp, nbf, sub, iss, uid, gen, repository, digest } = payload as {
      iat: unknown;
      exp: unknown;
      nbf?: unknown;
      sub: unknown;
      iss: string;
      uid?: unknown;
      gen?: unknown;
      repository?: unknown;
      digest?: unknown;
    };
    // Whole seconds in a sane range, in order: NaN-free arithmetic from here on.
    if (!isGrantTime(iat) || !isGrantTime(exp) || exp <= iat) throw new BlobGrantError('malformed');
    if (nbf !== undefined && (!isGrantTime(nbf) || nbf > exp))
      throw new BlobGrantError('malformed');
    if (exp - iat > (this.options.maxLifetimeSeconds ?? 3600)) throw new BlobGrantError('lifetime');
    if (
      typeof repository !== 'string' ||
      typeof digest !== 'string' ||
      typeof sub !== 'string' ||
      !isCount(uid) ||
      uid === 0 ||
      !isCount(gen)
    )
      throw new BlobGrantError('malformed');
    return {
      repository,
      digest,
      subject: sub,
      accountId: uid,
      generation: gen,
      issuer: iss,
      keyId: header.kid,
      issuedAt: new Date(iat * 1000),
      expiresAt: new Date(exp * 1000),
    };
  }
}

import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { Digest } from './digest';
import { RegistryError } from './registry-error';

/**
 * Blob grants: the signed, short-lived permission DTR puts in a blob redirect.
 *
 * A grant is a compact JWS (a JWT) signed with Ed25519 (`alg: EdDSA`), header
 * `{alg, kid, typ: "dtr-blob-grant+jwt"}`, claims
 * `{iss, sub: user, repository, digest, iat, nbf, exp}`. The key id is the key's RFC 7638
 * thumbprint. Caches verify grants offline with DTR's public keys, published as a JWKS document at
 * {@link BLOB_GRANT_KEYS_PATH}.
 */
export const BLOB_GRANT_ALGORITHM = 'EdDSA';

/** The `typ` header of a grant, so no other kind of JWT signed by the same key passes. */
export const BLOB_GRANT_TYPE = 'dtr-blob-grant+jwt';

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

/** A JWKS document of grant public keys. */
export interface GrantKeySet {
  keys: GrantPublicKey[];
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
  /** The user the grant is for. */
  subject: string;
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
  const issuedAt = Math.floor((request.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ repository: request.repository, digest: request.digest.toString() })
    .setProtectedHeader({ alg: BLOB_GRANT_ALGORITHM, kid: key.keyId, typ: BLOB_GRANT_TYPE })
    .setIssuer(request.issuer)
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
  readonly subject: string;
  readonly issuer: string;
  readonly keyId: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

/** Why a grant was refused. */
export type BlobGrantFailure =
  | 'missing'
  | 'malformed'
  | 'unknown-key'
  | 'algorithm'
  | 'signature'
  | 'expired'
  | 'not-yet-valid'
  | 'issuer'
  | 'lifetime'
  | 'repository'
  | 'digest';

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
  /** Required `iss`; unchecked if omitted. */
  issuer?: string;
  /** Allowed clock skew in seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Longest accepted `exp - iat` in seconds (default 3600), bounding a leaked grant's use. */
  maxLifetimeSeconds?: number;
}

function isGrantPublicKey(key: unknown): key is GrantPublicKey {
  const candidate = key as Partial<GrantPublicKey> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.kty === 'OKP' &&
    candidate.crv === 'Ed25519' &&
    typeof candidate.x === 'string' &&
    typeof candidate.kid === 'string' &&
    (candidate.alg === undefined || candidate.alg === BLOB_GRANT_ALGORITHM)
  );
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
  private readonly verified = new Map<string, BlobGrant>();

  constructor(
    keys: GrantKeySet,
    private readonly options: BlobGrantVerifierOptions = {},
  ) {
    [this.keySet, this.keyIds] = BlobGrantVerifier.load(keys);
  }

  private static load(keys: GrantKeySet): [ReturnType<typeof createLocalJWKSet>, Set<string>] {
    const usable = (Array.isArray(keys?.keys) ? keys.keys : []).filter(isGrantPublicKey);
    return [createLocalJWKSet({ keys: usable }), new Set(usable.map((key) => key.kid))];
  }

  /** Replaces the trusted keys (after fetching a fresh JWKS). */
  updateKeys(keys: GrantKeySet): void {
    [this.keySet, this.keyIds] = BlobGrantVerifier.load(keys);
    this.verified.clear();
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

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.keySet, {
        algorithms: [BLOB_GRANT_ALGORITHM],
        typ: BLOB_GRANT_TYPE,
        currentDate: now,
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
        requiredClaims: ['iss', 'sub', 'iat', 'exp'],
        ...(this.options.issuer === undefined ? {} : { issuer: this.options.issuer }),
      }));
    } catch (cause) {
      throw new BlobGrantError(failureOf(cause), { cause });
    }
    const { iat, exp, sub, iss, repository, digest } = payload as {
      iat: number;
      exp: number;
      sub: string;
      iss: string;
      repository?: unknown;
      digest?: unknown;
    };
    if (exp - iat > (this.options.maxLifetimeSeconds ?? 3600)) throw new BlobGrantError('lifetime');
    if (typeof repository !== 'string' || typeof digest !== 'string')
      throw new BlobGrantError('malformed');
    return {
      repository,
      digest,
      subject: sub,
      issuer: iss,
      keyId: header.kid,
      issuedAt: new Date(iat * 1000),
      expiresAt: new Date(exp * 1000),
    };
  }
}

function failureOf(error: unknown): BlobGrantFailure {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return 'not-yet-valid';
    if (error.claim === 'iss') return 'issuer';
    return 'malformed';
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown-key';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature';
  return 'malformed';
}

import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { BLOB_GRANT_ALGORITHM, type GrantKeySet, type GrantSigningKey } from './blob-grant';
import {
  type JoseFailure,
  isCount,
  isGrantPublicKey,
  isGrantTime,
  joseFailureOf,
} from './jwt-checks';
import { RegistryError } from './registry-error';

/**
 * Cache stats credentials: the short-lived token DTR sends (`Authorization: Bearer <token>`) to
 * read a content cache's counters at {@link CACHE_STATS_PATH}.
 *
 * A compact JWS signed with DTR's grant signing key (Ed25519, `alg: EdDSA`, the key's thumbprint
 * as `kid`), header `typ: "dtr-cache-stats+jwt"`, claims `{iss, aud: "dtr-cache-stats", sub:
 * "dtr", iat, nbf, exp}`. The `typ` and `aud` differ from a blob grant's, so a grant never reads
 * stats and a stats credential never fetches a blob. Caches verify it offline with the keys they
 * already hold for grants.
 */
export const CACHE_STATS_TYPE = 'dtr-cache-stats+jwt';

/** The `aud` of every stats credential. */
export const CACHE_STATS_AUDIENCE = 'dtr-cache-stats';

/** Where a content cache answers its stats (also below `http.prefix`). */
export const CACHE_STATS_PATH = '/api/v0/stats';

/** The longest lifetime a cache accepts (`exp - iat`), in seconds. */
export const CACHE_STATS_MAX_LIFETIME_SECONDS = 300;

/** Blob requests of a cache by outcome, since it started. */
export interface CacheRequestCounts {
  readonly hit: number;
  readonly miss: number;
  readonly coalesced: number;
  readonly denied: number;
  readonly error: number;
}

/** What a content cache answers at {@link CACHE_STATS_PATH}: all its workers together. */
export interface CacheStats {
  /** The program's version. */
  readonly version: string;
  /** When the cache (its primary, or its only process) started, ISO 8601. */
  readonly startedAt: string;
  /** Blob requests by outcome since start. */
  readonly requests: CacheRequestCounts;
  /** Blob bytes sent to clients since start. */
  readonly bytesServed: number;
  /** Bytes fetched from upstream (fills committed, and passed-through misses) since start. */
  readonly bytesFetched: number;
  /** Fills since start, by outcome. */
  readonly fills: {
    readonly committed: number;
    readonly failed: number;
    readonly inFlight: number;
  };
  /** Bytes of blobs stored and their count; null where the cache does not track them. */
  readonly disk: {
    readonly usedBytes: number | null;
    readonly limitBytes: number | null;
    readonly blobs: number | null;
  };
  /** The URLs the cache pulls from (its `originhost`, or its `upstreamhosts`). */
  readonly upstreams: readonly string[];
}

/** What a stats credential is signed for. */
export interface CacheStatsCredentialRequest {
  /** DTR's issuer (`auth.issuer`), the `iss` of grants too. */
  readonly issuer: string;
  /** Lifetime in seconds (at most {@link CACHE_STATS_MAX_LIFETIME_SECONDS}). */
  readonly lifetimeSeconds: number;
  readonly now?: Date;
}

/** Signs a stats credential with DTR's current grant signing key. */
export async function signCacheStatsCredential(
  key: GrantSigningKey,
  request: CacheStatsCredentialRequest,
): Promise<string> {
  if (!(request.lifetimeSeconds > 0) || request.lifetimeSeconds > CACHE_STATS_MAX_LIFETIME_SECONDS)
    throw new Error('stats credential lifetime must be positive and at most 300 s');
  const issuedAt = Math.floor((request.now ?? new Date()).getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: BLOB_GRANT_ALGORITHM, kid: key.keyId, typ: CACHE_STATS_TYPE })
    .setIssuer(request.issuer)
    .setAudience(CACHE_STATS_AUDIENCE)
    .setSubject('dtr')
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + Math.ceil(request.lifetimeSeconds))
    .sign(key.privateKey);
}

/** Why a stats credential was refused. */
export type CacheStatsCredentialFailure = JoseFailure | 'missing' | 'lifetime';

/** A refused stats credential: `UNAUTHORIZED` (401), `detail.reason` says why. */
export class CacheStatsCredentialError extends RegistryError {
  constructor(
    readonly reason: CacheStatsCredentialFailure,
    options: { cause?: unknown } = {},
  ) {
    super('UNAUTHORIZED', "DTR's signed stats credential is required", {
      detail: { reason },
      cause: options.cause,
      headers: { 'WWW-Authenticate': 'Bearer realm="dtr-cache-stats"' },
    });
    this.name = 'CacheStatsCredentialError';
  }
}

/**
 * Verifies a stats credential offline against DTR's grant keys: `EdDSA` only, a `kid` in the set,
 * the stats `typ` and `aud`, the key set's issuer, a valid time window of at most
 * {@link CACHE_STATS_MAX_LIFETIME_SECONDS}.
 * @throws CacheStatsCredentialError for every refusal (`unknown-key`: refreshing the keys may help).
 */
export async function verifyCacheStatsCredential(
  token: string | undefined,
  keys: GrantKeySet,
  options: { now?: Date; clockToleranceSeconds?: number } = {},
): Promise<void> {
  if (token === undefined || token === '') throw new CacheStatsCredentialError('missing');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    throw new CacheStatsCredentialError('malformed', { cause });
  }
  if (header.alg !== BLOB_GRANT_ALGORITHM) throw new CacheStatsCredentialError('algorithm');
  if (typeof header.kid !== 'string' || header.typ !== CACHE_STATS_TYPE)
    throw new CacheStatsCredentialError('malformed');
  const usable = (Array.isArray(keys?.keys) ? keys.keys : []).filter(isGrantPublicKey);
  if (!usable.some((key) => key.kid === header.kid))
    throw new CacheStatsCredentialError('unknown-key');
  const issuer = typeof keys.issuer === 'string' && keys.issuer !== '' ? keys.issuer : undefined;
  if (issuer === undefined) throw new CacheStatsCredentialError('issuer');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet({ keys: usable }), {
      algorithms: [BLOB_GRANT_ALGORITHM],
      typ: CACHE_STATS_TYPE,
      currentDate: options.now ?? new Date(),
      clockTolerance: options.clockToleranceSeconds ?? 30,
      requiredClaims: ['iss', 'aud', 'iat', 'exp'],
      issuer,
      audience: CACHE_STATS_AUDIENCE,
    }));
  } catch (cause) {
    throw new CacheStatsCredentialError(joseFailureOf(cause), { cause });
  }
  const { iat, exp } = payload;
  if (!isGrantTime(iat) || !isGrantTime(exp) || exp <= iat)
    throw new CacheStatsCredentialError('malformed');
  if (exp - iat > CACHE_STATS_MAX_LIFETIME_SECONDS) throw new CacheStatsCredentialError('lifetime');
}

/** A count: a non-negative safe integer. */
function count(value: unknown): number | undefined {
  return isCount(value) ? value : undefined;
}

function countOrNull(value: unknown): number | null | undefined {
  return value === null ? null : count(value);
}

/**
 * Reads a cache's stats answer (untrusted JSON): every number a non-negative integer, at most 64
 * upstream URLs of at most 2048 characters each.
 * @throws Error naming the first field that is not as {@link CacheStats} says.
 */
export function parseCacheStats(value: unknown): CacheStats {
  const object = (candidate: unknown, name: string): Record<string, unknown> => {
    if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate))
      throw new Error(`${name} is not an object`);
    return candidate as Record<string, unknown>;
  };
  const root = object(value, 'the answer');
  const requests = object(root['requests'], 'requests');
  const fills = object(root['fills'], 'fills');
  const disk = object(root['disk'], 'disk');
  const need = <T>(field: T | undefined, name: string): T => {
    if (field === undefined) throw new Error(`${name} is not a count`);
    return field;
  };
  const upstreams = root['upstreams'];
  if (
    !Array.isArray(upstreams) ||
    upstreams.length > 64 ||
    !upstreams.every((url) => typeof url === 'string' && url.length <= 2048)
  )
    throw new Error('upstreams is not a list of URLs');
  const text = (field: unknown, name: string): string => {
    if (typeof field !== 'string' || field.length > 200) throw new Error(`${name} is not text`);
    return field;
  };
  return {
    version: text(root['version'], 'version'),
    startedAt: text(root['startedAt'], 'startedAt'),
    requests: {
      hit: need(count(requests['hit']), 'requests.hit'),
      miss: need(count(requests['miss']), 'requests.miss'),
      coalesced: need(count(requests['coalesced']), 'requests.coalesced'),
      denied: need(count(requests['denied']), 'requests.denied'),
      error: need(count(requests['error']), 'requests.error'),
    },
    bytesServed: need(count(root['bytesServed']), 'bytesServed'),
    bytesFetched: need(count(root['bytesFetched']), 'bytesFetched'),
    fills: {
      committed: need(count(fills['committed']), 'fills.committed'),
      failed: need(count(fills['failed']), 'fills.failed'),
      inFlight: need(count(fills['inFlight']), 'fills.inFlight'),
    },
    disk: {
      usedBytes: need(countOrNull(disk['usedBytes']), 'disk.usedBytes'),
      limitBytes: need(countOrNull(disk['limitBytes']), 'disk.limitBytes'),
      blobs: need(countOrNull(disk['blobs']), 'disk.blobs'),
    },
    upstreams: upstreams as string[],
  };
}

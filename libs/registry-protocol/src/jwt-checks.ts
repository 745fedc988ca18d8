import { errors as joseErrors } from 'jose';
import { BLOB_GRANT_ALGORITHM, GRANT_TIME_RANGE, type GrantPublicKey } from './blob-grant';

/** Why `jose` refused a signed token, in the words both DTR-signed token kinds use. */
export type JoseFailure =
  | 'expired'
  | 'not-yet-valid'
  | 'issuer'
  | 'audience'
  | 'algorithm'
  | 'unknown-key'
  | 'signature'
  | 'malformed';

/** The reason for a `jose` verification error (anything unrecognised is `malformed`). */
export function joseFailureOf(error: unknown): JoseFailure {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return 'not-yet-valid';
    if (error.claim === 'iss') return 'issuer';
    if (error.claim === 'aud') return 'audience';
    return 'malformed';
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown-key';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature';
  return 'malformed';
}

/** A count: a non-negative safe integer. */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A whole number of seconds within {@link GRANT_TIME_RANGE}. */
export function isGrantTime(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= GRANT_TIME_RANGE.min &&
    value <= GRANT_TIME_RANGE.max
  );
}

/** A published Ed25519 key usable for DTR's signatures (`alg` absent or EdDSA, with a `kid`). */
export function isGrantPublicKey(key: unknown): key is GrantPublicKey {
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

export { ERROR_CODES, isErrorCode, statusOf } from './error-codes';
export type { ErrorCode, ErrorCodeDescriptor } from './error-codes';
export { RegistryError, errorEnvelope, parseErrorEnvelope } from './registry-error';
export type { ErrorEnvelope, ErrorEnvelopeEntry, RegistryErrorOptions } from './registry-error';
export { REPRESENTATION_HEADERS, registryErrorResponse, toRegistryError } from './error-response';
export type { RegistryErrorResponse } from './error-response';
export { Digest, DIGEST_HEX_LENGTHS } from './digest';
export type { DigestAlgorithm } from './digest';
export {
  DigestHasher,
  type PrefixDigest,
  assertContentMatches,
  createDigestVerifier,
} from './digest-verifier';
export {
  MAX_REPOSITORY_NAME_LENGTH,
  MAX_TAG_LENGTH,
  REPOSITORY_NAME_PATTERN,
  TAG_PATTERN,
  isValidRepositoryName,
  isValidTag,
  parseManifestReference,
  parseRepositoryName,
} from './repository-name';
export type { ManifestReference } from './repository-name';
export {
  IMAGE_MANIFEST_MEDIA_TYPES,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MediaTypes,
  isImageManifestMediaType,
  isIndexMediaType,
  isManifestMediaType,
} from './media-types';
export type { OciDescriptor } from './media-types';
export { API_VERSION, Headers, blobAnswerHeaders, etagOf } from './headers';
export {
  formatContentRange,
  isRangeWithin,
  parseRangeHeader,
  rangeLength,
  rangeNotSatisfiable,
} from './byte-range';
export type { ByteRange, RangeRequest } from './byte-range';
export { formatBearerChallenge, parseAuthChallenges, parseBearerChallenge } from './auth-challenge';
export type { AuthChallenge, BearerChallenge } from './auth-challenge';
export { formatAccessScope, parseAccessScope, parseAccessScopes } from './access-scope';
export type { AccessScope } from './access-scope';
export {
  REGISTRY_ROUTES,
  UPLOAD_ID_PATTERN,
  matchRegistryRoute,
  registryPaths,
  resolveRegistryUrl,
} from './routes';
export type { RegistryRouteDefinition, RegistryRouteMatch, RegistryRouteName } from './routes';
export {
  BLOB_GRANT_ALGORITHM,
  BLOB_GRANT_AUDIENCE,
  BLOB_GRANT_KEYS_PATH,
  BLOB_GRANT_TYPE,
  BlobGrantError,
  BlobGrantVerifier,
  GRANT_TIME_RANGE,
  exportGrantSigningKey,
  generateGrantSigningKey,
  importGrantSigningKey,
  signBlobGrant,
} from './blob-grant';
export type {
  BlobGrant,
  BlobGrantFailure,
  BlobGrantRequest,
  BlobGrantVerifierOptions,
  GrantKeySet,
  GrantPublicKey,
  GrantSigningKey,
} from './blob-grant';
export { GRANT_QUERY_PARAMETER, grantFromQuery, signedBlobUrl } from './signed-url';
export { rendezvousRank, rendezvousWeight } from './rendezvous';
export {
  CACHE_STATS_AUDIENCE,
  CACHE_STATS_MAX_LIFETIME_SECONDS,
  CACHE_STATS_PATH,
  CACHE_STATS_TYPE,
  CacheStatsCredentialError,
  parseCacheStats,
  signCacheStatsCredential,
  verifyCacheStatsCredential,
} from './cache-stats';
export type {
  CacheRequestCounts,
  CacheStats,
  CacheStatsCredentialFailure,
  CacheStatsCredentialRequest,
} from './cache-stats';
export {
  CACHE_RESULTS,
  CONTENT_CACHE_NAME_PATTERN,
  formatCacheRoute,
  parseCacheResult,
  parseCacheRoute,
} from './cache-route';
export type { CacheResult, CacheRoute } from './cache-route';

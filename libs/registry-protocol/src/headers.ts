/** Header names of the registry protocol and of this project's extensions. */
export const Headers = {
  apiVersion: 'Docker-Distribution-Api-Version',
  contentDigest: 'Docker-Content-Digest',
  uploadUuid: 'Docker-Upload-UUID',
  wwwAuthenticate: 'WWW-Authenticate',
  authorization: 'Authorization',
  location: 'Location',
  range: 'Range',
  contentRange: 'Content-Range',
  contentLength: 'Content-Length',
  contentType: 'Content-Type',
  acceptRanges: 'Accept-Ranges',
  etag: 'ETag',
  ifNoneMatch: 'If-None-Match',
  link: 'Link',
  ociSubject: 'OCI-Subject',
  ociFiltersApplied: 'OCI-Filters-Applied',
  accept: 'Accept',
  /** On a cache's blob answers: what the cache did (`CacheResult`: hit, miss, coalesced, pass-through). */
  contentCache: 'X-Content-Cache',
  /** On a blob request to DTR: where to send this one request (`CacheRoute`), whatever the setting. */
  contentCacheRoute: 'X-Content-Cache-Route',
} as const;

/** Value of the `Docker-Distribution-Api-Version` header. */
export const API_VERSION = 'registry/2.0';

/** ETag of a content-addressed object: its digest, quoted. */
export function etagOf(digest: { toString(): string }): string {
  return `"${digest.toString()}"`;
}

/**
 * The headers of a blob answer (a 200, 206 or 304 carrying or describing the blob), as a flat
 * name/value list: its digest, its ETag, byte ranges, and that it may be cached for good (content
 * addressed: the bytes of a digest never change). Never on an error, which a cache must not keep.
 */
export function blobAnswerHeaders(digest: { toString(): string }): string[] {
  return [
    Headers.contentDigest,
    digest.toString(),
    Headers.etag,
    etagOf(digest),
    Headers.acceptRanges,
    'bytes',
    'Cache-Control',
    'max-age=31536000',
    Headers.contentType,
    'application/octet-stream',
  ];
}

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
  accept: 'Accept',
} as const;

/** Value of the `Docker-Distribution-Api-Version` header. */
export const API_VERSION = 'registry/2.0';

/** ETag of a content-addressed object: its digest, quoted. */
export function etagOf(digest: { toString(): string }): string {
  return `"${digest.toString()}"`;
}

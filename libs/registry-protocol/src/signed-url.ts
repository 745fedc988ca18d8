import type { Digest } from './digest';
import { registryPaths, resolveRegistryUrl } from './routes';

/**
 * The signed-URL format: a blob URL of the content cache carrying a blob grant in the `grant`
 * query parameter, `<cache host>/v2/<name>/blobs/<digest>?grant=<jws>`. A query parameter (not a
 * header) so that every client following DTR's redirect presents it; each cache forwards the same
 * URL form to its upstream on a miss.
 */
export const GRANT_QUERY_PARAMETER = 'grant';

/** Builds the blob URL on `host` (an absolute http(s) URL, path prefix kept) carrying `grant`. */
export function signedBlobUrl(
  host: string | URL,
  repository: string,
  digest: Digest,
  grant: string,
): URL {
  return resolveRegistryUrl(
    host,
    registryPaths.blob(repository, digest, { [GRANT_QUERY_PARAMETER]: grant }),
  );
}

/** The grant of a request's query, or undefined. Repeated parameters are refused (undefined). */
export function grantFromQuery(
  query: URLSearchParams | Record<string, unknown>,
): string | undefined {
  const values =
    query instanceof URLSearchParams
      ? query.getAll(GRANT_QUERY_PARAMETER)
      : [query[GRANT_QUERY_PARAMETER]].flat().filter((value) => value !== undefined);
  if (values.length !== 1 || typeof values[0] !== 'string') return undefined;
  return values[0];
}

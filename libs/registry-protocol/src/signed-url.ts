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

/**
 * The grant of a request's query — the raw query string (without `?`) or parsed parameters — or
 * undefined. Repeated parameters are refused (undefined). A raw query is read as
 * `URLSearchParams` reads it; one without escapes (`%`, `+`) is scanned without parsing the rest,
 * since a content cache reads one on every blob request.
 */
export function grantFromQuery(query: string | URLSearchParams): string | undefined {
  if (typeof query === 'string' && !/[%+]/.test(query)) return plainGrantOf(query);
  const values = (typeof query === 'string' ? new URLSearchParams(query) : query).getAll(
    GRANT_QUERY_PARAMETER,
  );
  return values.length === 1 ? values[0] : undefined;
}

/** {@link grantFromQuery} of a raw query without escapes: a parameter's text is its value. */
function plainGrantOf(query: string): string | undefined {
  let grant: string | undefined;
  for (const parameter of query.split('&')) {
    const equals = parameter.indexOf('=');
    const name = equals === -1 ? parameter : parameter.slice(0, equals);
    if (name !== GRANT_QUERY_PARAMETER) continue;
    if (grant !== undefined) return undefined;
    grant = equals === -1 ? '' : parameter.slice(equals + 1);
  }
  return grant;
}

import { RegistryError } from './registry-error';

/** Cache names: lower-case letters and digits separated by `.`, `_` or `-`, 1-64 characters. */
export const CONTENT_CACHE_NAME_PATTERN = /^(?=.{1,64}$)[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/**
 * What a content cache did for one blob response, sent as `X-Content-Cache` on every blob answer
 * of a cache (200, 206, 304 and HEAD):
 * - `hit`: served from this cache's disk;
 * - `miss`: this request started the upstream download, and the blob is kept;
 * - `coalesced`: joined a download another request (on any worker) had started;
 * - `pass-through`: downloaded for this request and not kept (disk full, read-only storage).
 *
 * A HEAD or a 304 says `hit` when the blob is on disk and `miss` when the cache had to ask upstream.
 */
export const CACHE_RESULTS = ['hit', 'miss', 'coalesced', 'pass-through'] as const;

/** One of {@link CACHE_RESULTS}. */
export type CacheResult = (typeof CACHE_RESULTS)[number];

/** `value` as a cache result, or undefined when it is none (absent, or not one of the four). */
export function parseCacheResult(value: string | null | undefined): CacheResult | undefined {
  const result = value?.trim().toLowerCase();
  return (CACHE_RESULTS as readonly string[]).includes(result ?? '')
    ? (result as CacheResult)
    : undefined;
}

/**
 * Where a client asks DTR to send one blob request, in the `X-Content-Cache-Route` request header
 * of `GET`/`HEAD /v2/<name>/blobs/<digest>`, regardless of the user's setting (which it does not
 * change). Allowed to anyone who may pull the repository:
 * - `none`: DTR serves the blob itself;
 * - `<cache>`: a redirect to that registered cache (a group: its member for the digest, as for a
 *   user who chose it);
 * - `<cache>; member=<url>`: a redirect to that one member of the cache.
 */
export type CacheRoute =
  | { readonly kind: 'none' }
  | { readonly kind: 'cache'; readonly cache: string; readonly member?: string | undefined };

const MEMBER_PARAMETER = /^member\s*=\s*(\S+)$/i;

/**
 * Parses an `X-Content-Cache-Route` value ({@link CacheRoute}). The member URL is normalized as
 * registered members are (no trailing slash), for comparing with them.
 * @throws RegistryError `INVALID_REQUEST` (400) for a value that is none of the forms, with the
 *   value and the forms in its detail.
 */
export function parseCacheRoute(value: string): CacheRoute {
  const [name = '', ...parameters] = value.split(';').map((part) => part.trim());
  const invalid = (reason: string) =>
    new RegistryError('INVALID_REQUEST', `X-Content-Cache-Route: ${reason}`, {
      detail: { value, forms: ['none', '<cache>', '<cache>; member=<url>'] },
    });
  if (name.toLowerCase() === 'none') {
    if (parameters.length > 0) throw invalid('"none" takes no parameters');
    return { kind: 'none' };
  }
  if (!CONTENT_CACHE_NAME_PATTERN.test(name)) throw invalid('not a content cache name');
  if (parameters.length === 0) return { kind: 'cache', cache: name };
  const match = parameters.length === 1 ? MEMBER_PARAMETER.exec(parameters[0] as string) : null;
  if (!match) throw invalid('the only parameter is member=<url>');
  return { kind: 'cache', cache: name, member: normalizedMemberUrl(match[1] as string, invalid) };
}

/** The `X-Content-Cache-Route` value of `route` (what {@link parseCacheRoute} reads back). */
export function formatCacheRoute(route: CacheRoute): string {
  if (route.kind === 'none') return 'none';
  return route.member === undefined ? route.cache : `${route.cache}; member=${route.member}`;
}

/**
 * A member's base URL as members are registered: `scheme://host[:port][/path]` without a trailing
 * slash, credentials, query or fragment.
 */
function normalizedMemberUrl(text: string, invalid: (reason: string) => Error): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('member is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid('member must be an http or https URL');
  if (url.search || url.hash || url.username || url.password)
    throw invalid('member is a base URL (no credentials, query or fragment)');
  return `${url.origin}${url.pathname === '/' ? '' : url.pathname}`;
}

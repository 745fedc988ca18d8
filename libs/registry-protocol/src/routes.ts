import { Digest } from './digest';
import { RegistryError } from './registry-error';
import {
  type ManifestReference,
  parseManifestReference,
  parseRepositoryName,
} from './repository-name';

/** Names of the registry API v2 routes. */
export type RegistryRouteName =
  'base' | 'catalog' | 'tags' | 'manifest' | 'referrers' | 'blob' | 'blob-uploads' | 'blob-upload';

/** One row of the route table. */
export interface RegistryRouteDefinition {
  readonly name: RegistryRouteName;
  /** Matches the raw (not yet decoded) request path; named groups hold the parameters. */
  readonly pattern: RegExp;
  /** Methods the route serves; any other gets `UNSUPPORTED`. */
  readonly methods: readonly string[];
}

/**
 * The registry API v2 route table, in match order: upload routes come before the blob route,
 * since `/v2/<name>/blobs/uploads/` would otherwise read as a blob called `uploads`. Names may
 * contain slashes, so a route matches on its fixed suffix and validates the name afterwards.
 */
export const REGISTRY_ROUTES: readonly RegistryRouteDefinition[] = [
  { name: 'base', pattern: /^\/v2\/?$/, methods: ['GET', 'HEAD'] },
  { name: 'catalog', pattern: /^\/v2\/_catalog$/, methods: ['GET'] },
  {
    name: 'blob-uploads',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/,
    methods: ['POST'],
  },
  {
    name: 'blob-upload',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<uploadId>[^/]+)$/,
    methods: ['GET', 'PATCH', 'PUT', 'DELETE'],
  },
  {
    name: 'blob',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/,
    methods: ['GET', 'HEAD', 'DELETE'],
  },
  {
    name: 'manifest',
    pattern: /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/,
    methods: ['GET', 'HEAD', 'PUT', 'DELETE'],
  },
  { name: 'tags', pattern: /^\/v2\/(?<name>.+)\/tags\/list$/, methods: ['GET'] },
  {
    name: 'referrers',
    pattern: /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/,
    methods: ['GET'],
  },
];

/** Upload session ids: opaque, URL-safe, at most 128 characters. */
export const UPLOAD_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** A matched route with validated, typed parameters. */
export type RegistryRouteMatch =
  | { readonly name: 'base' }
  | { readonly name: 'catalog' }
  | { readonly name: 'tags'; readonly repository: string }
  | {
      readonly name: 'manifest';
      readonly repository: string;
      readonly reference: ManifestReference;
    }
  | { readonly name: 'blob'; readonly repository: string; readonly digest: Digest }
  | { readonly name: 'referrers'; readonly repository: string; readonly digest: Digest }
  | { readonly name: 'blob-uploads'; readonly repository: string }
  | { readonly name: 'blob-upload'; readonly repository: string; readonly uploadId: string };

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Finds the route of a raw request path and validates its parameters.
 * Returns undefined if no route matches.
 * @throws RegistryError `NAME_INVALID`, `DIGEST_INVALID`, `TAG_INVALID` or `BLOB_UPLOAD_UNKNOWN`
 *   for a matching path whose parameters are invalid; `UNSUPPORTED` if `method` is given and the
 *   route does not serve it.
 */
export function matchRegistryRoute(path: string, method?: string): RegistryRouteMatch | undefined {
  for (const route of REGISTRY_ROUTES) {
    const result = route.pattern.exec(path);
    if (!result) continue;
    const match = toMatch(route.name, result.groups ?? {});
    if (method !== undefined && !route.methods.includes(method.toUpperCase())) {
      throw new RegistryError('UNSUPPORTED', undefined, {
        detail: { method, allowed: route.methods },
        headers: { Allow: route.methods.join(', ') },
      });
    }
    return match;
  }
  return undefined;
}

function toMatch(name: RegistryRouteName, groups: Record<string, string>): RegistryRouteMatch {
  if (name === 'base' || name === 'catalog') return { name };
  const repository = parseRepositoryName(decode(groups['name'] ?? ''));
  switch (name) {
    case 'tags':
    case 'blob-uploads':
      return { name, repository };
    case 'manifest':
      return {
        name,
        repository,
        reference: parseManifestReference(decode(groups['reference'] ?? '')),
      };
    case 'blob':
    case 'referrers':
      return { name, repository, digest: Digest.parse(decode(groups['digest'] ?? '')) };
    case 'blob-upload': {
      const uploadId = decode(groups['uploadId'] ?? '');
      if (!UPLOAD_ID_PATTERN.test(uploadId)) {
        throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { detail: { uploadId } });
      }
      return { name, repository, uploadId };
    }
  }
}

type Query = Record<string, string | number | undefined>;

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}

/**
 * Builds the path (with query) of every registry route; servers use it for `Location` and `Link`
 * headers, clients for requests. Parameters are written as the route table expects them.
 */
export const registryPaths = {
  base: (): string => '/v2/',
  catalog: (query?: { n?: number; last?: string }): string => withQuery('/v2/_catalog', query),
  tags: (repository: string, query?: { n?: number; last?: string }): string =>
    withQuery(`/v2/${repository}/tags/list`, query),
  manifest: (repository: string, reference: string | Digest): string =>
    `/v2/${repository}/manifests/${reference.toString()}`,
  blob: (repository: string, digest: Digest, query?: Query): string =>
    withQuery(`/v2/${repository}/blobs/${digest.toString()}`, query),
  referrers: (
    repository: string,
    digest: Digest | string,
    query?: { artifactType?: string; n?: number; last?: string },
  ): string => withQuery(`/v2/${repository}/referrers/${digest.toString()}`, query),
  blobUploads: (repository: string, query?: { digest?: string; mount?: string; from?: string }) =>
    withQuery(`/v2/${repository}/blobs/uploads/`, query),
  blobUpload: (repository: string, uploadId: string, query?: { digest?: string }): string =>
    withQuery(`/v2/${repository}/blobs/uploads/${uploadId}`, query),
} as const;

/**
 * Resolves a path built by {@link registryPaths} against a base URL, keeping any path prefix of
 * the base (`https://host/prefix` + `/v2/` → `https://host/prefix/v2/`).
 */
export function resolveRegistryUrl(base: string | URL, pathWithQuery: string): URL {
  const baseUrl = new URL(base);
  const prefix = baseUrl.pathname.replace(/\/+$/, '');
  return new URL(`${prefix}${pathWithQuery}`, baseUrl.origin);
}

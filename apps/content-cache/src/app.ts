import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import Koa from 'koa';
import type { Logger } from '@dtr-cache/logging';
import {
  API_VERSION,
  BLOB_GRANT_KEYS_PATH,
  CACHE_STATS_PATH,
  type CacheStats,
  Headers,
  matchRegistryRoute,
  RegistryError,
} from '@dtr-cache/registry-protocol';
import type { CachingBlobStore } from './cache/caching-blob-store';
import type { CacheMetrics } from './cache-metrics';
import type { ClientConnections } from './client-connections';
import {
  registryErrors,
  type UnexpectedErrorHandler,
  writeRegistryError,
} from './registry-error-writer';
import { type BlobRequest, serveBlob } from './serve-blob';
import type { UpstreamKeys } from './upstream/upstream-keys';

/** What the cache's request handlers use. */
export interface CacheServices {
  readonly cache: CachingBlobStore;
  readonly keys: UpstreamKeys;
  readonly metrics: CacheMetrics;
  readonly logger: Logger;
  /** `http.headers`: added to every response. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  /** `log.accesslog.disabled` inverted. */
  readonly accessLog: boolean;
  /**
   * `http.prefix` without its trailing slash (`/`: none). The registry API is served below it
   * only; `/health`, `/metrics` and the grant keys answer at the root too.
   */
  readonly prefix?: string;
  /** The server's connections per client: each request is admitted by it first. */
  readonly connections: ClientConnections;
  /** `sendtimeout`: a response whose client takes none of its waiting bytes for this long closes. */
  readonly sendTimeoutMs: number;
  /**
   * Large blobs on local disk go out with sendfile over plain HTTP (where the addon is built);
   * false: every body is read and written (the path TLS, memory hits and fills always take).
   */
  readonly sendFile: boolean;
  /** `health.storagedriver`: its problem makes the health endpoints answer 503. */
  readonly storageHealth?: { readonly problem: string | undefined };
  /**
   * False when metrics are served by the debug server (`http.debug.prometheus`): `/metrics` is
   * then not answered here. Default true.
   */
  readonly metricsOnMainPort?: boolean;
  /** The Prometheus text of `/metrics` (with several workers, all of theirs). */
  metricsText(): Promise<string>;
  /** Fills under way (with several workers, in all of them). */
  fillsInProgress(): Promise<number>;
  /** The stats answer (with several workers, all of theirs), for DTR's signed credential only. */
  stats(): Promise<CacheStats>;
}

/**
 * Builds the cache's request listener; it never listens (see `createCacheServer`). A request on
 * a connection its client has too many of is refused first. Blob requests (`GET`/`HEAD
 * /v2/<name>/blobs/<digest>`, all but a few of the cache's requests) are served by
 * {@link serveBlob} on Node's request and response; everything else by the Koa application.
 * Every error, wherever it arose, is written by {@link writeRegistryError} as the registry's
 * error envelope, with `http.headers` (and on `/v2/` the API version) like any answer.
 */
export function createApp(services: CacheServices): RequestListener {
  const onUnexpected: UnexpectedErrorHandler = (error, request) =>
    services.logger.error('request failed', {
      method: request.method,
      path: pathOf(request.url ?? ''),
      error,
    });
  const koa = createKoaApp(services, onUnexpected).callback();
  const configured = Object.entries(services.headers);
  // Set on every blob answer, as Koa's middleware sets them on its own answers (a flat list).
  const headers = [
    ...configured.flatMap(([name, values]) => values.flatMap((value) => [name, value])),
    Headers.apiVersion,
    API_VERSION,
  ];
  const fail = (request: IncomingMessage, response: ServerResponse, error: unknown) => {
    if (!response.headersSent) {
      for (const [name, values] of configured) response.setHeader(name, [...values]);
      if (isRegistryPath(pathOf(request.url ?? '')))
        response.setHeader(Headers.apiVersion, API_VERSION);
    }
    writeRegistryError(request, response, error, onUnexpected);
  };
  const prefix = services.prefix ?? '/';
  return (request, response) => {
    const refusal = services.connections.admit(request);
    if (refusal) {
      fail(request, response, refusal);
      return;
    }
    if (prefix !== '/') {
      const target = originForm(request.url ?? '') ?? '';
      const within = withoutPrefix(target, prefix);
      if (within !== undefined) request.url = within;
      else if (isRegistryPath(pathOf(target))) {
        fail(request, response, new RegistryError('NOT_FOUND', undefined, { detail: { prefix } }));
        return;
      }
    }
    const route = blobRequestOf(request);
    if (!route) {
      void koa(request, response);
      return;
    }
    serveBlob(request, response, services, headers, route).catch((error: unknown) =>
      fail(request, response, error),
    );
  };
}

/** The path of a request-target, without its query (which may carry a grant). */
export function pathOf(target: string): string {
  const form = originForm(target) ?? '';
  const queryAt = form.indexOf('?');
  return queryAt === -1 ? form : form.slice(0, queryAt);
}

/**
 * The cache's health: ready once it can verify grants (until then every pull would be refused)
 * and while its storage passes its checks (`health.storagedriver`).
 */
export async function healthOf(
  services: Pick<CacheServices, 'keys' | 'storageHealth' | 'fillsInProgress'>,
): Promise<{ status: 200 | 503; body: Record<string, unknown> }> {
  const storageProblem = services.storageHealth?.problem;
  const status = !services.keys.ready ? 'starting' : storageProblem ? 'unhealthy' : 'ok';
  return {
    status: status === 'ok' ? 200 : 503,
    body: {
      status,
      ...(storageProblem ? { reason: storageProblem } : {}),
      grantKeys: services.keys.keySet().keys.length,
      fillsInProgress: await services.fillsInProgress(),
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other. */
function bearerTokenOf(header: string): string | undefined {
  const match = /^Bearer +([A-Za-z0-9._~+/=-]{1,4096}) *$/i.exec(header);
  return match?.[1];
}

/** A request-target below `prefix`, made relative to it; undefined for one outside it. */
function withoutPrefix(target: string, prefix: string): string | undefined {
  if (!target.startsWith(prefix)) return undefined;
  const rest = target.slice(prefix.length);
  if (rest === '') return '/';
  return rest.startsWith('/') || rest.startsWith('?') ? rest.replace(/^\?/, '/?') : undefined;
}

/** True for the registry API's paths, which carry the API version header. */
function isRegistryPath(path: string): boolean {
  return path === '/v2' || path.startsWith('/v2/');
}

/**
 * The blob a `GET` or `HEAD` asks for, or undefined for any other request. An invalid name or
 * digest is left to Koa's router too, which refuses it.
 */
function blobRequestOf(request: IncomingMessage): BlobRequest | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  const target = originForm(request.url ?? '');
  if (!target?.startsWith('/v2/')) return undefined;
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  let route;
  try {
    route = matchRegistryRoute(path, request.method);
  } catch {
    return undefined;
  }
  if (route?.name !== 'blob') return undefined;
  const query = queryAt === -1 ? '' : target.slice(queryAt + 1);
  return { repository: route.repository, digest: route.digest, query };
}

/** A request-target as path and query: origin-form as it is, absolute-form (RFC 9112) parsed. */
function originForm(target: string): string | undefined {
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

/** The Koa application: every route but blob requests. */
function createKoaApp(services: CacheServices, onUnexpected: UnexpectedErrorHandler): Koa {
  const app = new Koa();
  app.silent = true;
  const configured = Object.entries(services.headers);
  app.use(async (ctx, next) => {
    for (const [name, values] of configured) ctx.set(name, [...values]);
    if (isRegistryPath(ctx.path)) ctx.set(Headers.apiVersion, API_VERSION);
    return next();
  });
  app.use(registryErrors(onUnexpected));
  app.use(async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === BLOB_GRANT_KEYS_PATH) {
      // Relaying an empty set would pass for "no key is valid" downstream: say "not yet".
      services.keys.assertReady();
      ctx.set('Cache-Control', 'max-age=30');
      ctx.body = services.keys.keySet();
      return;
    }
    if (ctx.path === '/health') {
      const health = await healthOf(services);
      ctx.status = health.status;
      ctx.body = health.body;
      return;
    }
    if (ctx.path === CACHE_STATS_PATH) {
      await services.keys.verifyStatsCredential(bearerTokenOf(ctx.get('Authorization')));
      ctx.set('Cache-Control', 'no-store');
      ctx.body = await services.stats();
      return;
    }
    if (ctx.path === '/metrics' && services.metricsOnMainPort !== false) {
      ctx.type = services.metrics.registry.contentType;
      ctx.body = await services.metricsText();
      return;
    }
    return next();
  });
  app.use(async (ctx, next) => {
    if (!isRegistryPath(ctx.path)) return next();
    const route = matchRegistryRoute(ctx.path, ctx.method);
    if (!route) throw new RegistryError('NOT_FOUND', undefined, { detail: { path: ctx.path } });
    if (route.name === 'base') {
      ctx.body = {};
      return;
    }
    throw new RegistryError(
      'UNSUPPORTED',
      'a content cache serves blobs only; manifests and pushes go to DTR',
    );
  });
  return app;
}

import type { IncomingMessage, RequestListener } from 'node:http';
import Koa from 'koa';
import type { Logger } from '@dtr-cache/logging';
import {
  API_VERSION,
  BLOB_GRANT_KEYS_PATH,
  configuredHeaders,
  Headers,
  matchRegistryRoute,
  RegistryError,
  registryErrorMiddleware,
} from '@dtr-cache/registry-protocol';
import type { CachingBlobStore } from './cache/caching-blob-store';
import type { CacheMetrics } from './cache-metrics';
import type { ClientConnections } from './client-connections';
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
  /** The server's connections per client: each request is admitted by it first. */
  readonly connections: ClientConnections;
  /** `sendtimeout`: a response whose client takes none of its waiting bytes for this long closes. */
  readonly sendTimeoutMs: number;
}

/**
 * Builds the cache's request listener; it never listens (see `createCacheServer`). A request on
 * a connection its client has too many of is refused first. Blob requests (`GET`/`HEAD
 * /v2/<name>/blobs/<digest>`, all but a few of the cache's requests) are served by
 * {@link serveBlob} on Node's request and response; everything else — and every error, a blob
 * request's included — by the Koa application, whose one error middleware renders the registry's
 * error envelope.
 */
export function createApp(services: CacheServices): RequestListener {
  /** Blob requests that failed before answering, handed to Koa to be rendered. */
  const failures = new WeakMap<IncomingMessage, unknown>();
  const koa = createKoaApp(services, failures).callback();
  // Set on every blob answer, as Koa's middleware sets them on its own answers (a flat list).
  const headers = [
    ...Object.entries(services.headers).flatMap(([name, values]) =>
      values.flatMap((value) => [name, value]),
    ),
    Headers.apiVersion,
    API_VERSION,
  ];
  return (request, response) => {
    const refusal = services.connections.admit(request);
    if (refusal) {
      failures.set(request, refusal);
      void koa(request, response);
      return;
    }
    const route = blobRequestOf(request);
    if (!route) {
      void koa(request, response);
      return;
    }
    serveBlob(request, response, services, headers, route).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      failures.set(request, error);
      void koa(request, response);
    });
  };
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

/** The Koa application: every route but blob requests, and every error. */
function createKoaApp(services: CacheServices, failures: WeakMap<IncomingMessage, unknown>): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(configuredHeaders(services.headers));
  app.use(
    registryErrorMiddleware({
      onUnexpectedError: (error, ctx) =>
        services.logger.error('request failed', { method: ctx.method, path: ctx.path, error }),
    }),
  );
  app.use(async (ctx, next) => {
    if (ctx.path === '/v2' || ctx.path.startsWith('/v2/')) ctx.set(Headers.apiVersion, API_VERSION);
    if (failures.has(ctx.req)) throw failures.get(ctx.req);
    return next();
  });
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
      // Ready once it can verify grants: until then every pull would be refused.
      ctx.status = services.keys.ready ? 200 : 503;
      ctx.body = {
        status: services.keys.ready ? 'ok' : 'starting',
        grantKeys: services.keys.keySet().keys.length,
        fillsInProgress: services.cache.fillsInProgress,
      };
      return;
    }
    if (ctx.path === '/metrics') {
      services.metrics.fillsInProgress.set(services.cache.fillsInProgress);
      ctx.type = services.metrics.registry.contentType;
      ctx.body = await services.metrics.registry.metrics();
      return;
    }
    return next();
  });
  app.use(async (ctx, next) => {
    if (ctx.path !== '/v2' && !ctx.path.startsWith('/v2/')) return next();
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

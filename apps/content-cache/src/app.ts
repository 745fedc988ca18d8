import type { OpenBlob } from '@dtr-cache/blob-store';
import Koa, { type Context } from 'koa';
import type { Logger } from '@dtr-cache/logging';
import {
  API_VERSION,
  BLOB_GRANT_KEYS_PATH,
  BlobGrantError,
  configuredHeaders,
  type Digest,
  etagOf,
  formatContentRange,
  grantFromQuery,
  Headers,
  matchRegistryRoute,
  parseRangeHeader,
  RegistryError,
  rangeLength,
  rangeNotSatisfiable,
  registryErrorMiddleware,
} from '@dtr-cache/registry-protocol';
import type { CachingBlobStore } from './cache/caching-blob-store';
import type { CacheMetrics } from './cache-metrics';
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
}

/**
 * Sends the blob as the response, counting the bytes written. Bytes already in memory go out in
 * one write with the headers. A streamed chunk is handed back to the store (`recycle`) once its
 * write completed, so the next read reuses its memory. A failing body (upstream died, bytes did
 * not verify) aborts the response rather than ending it; a client that goes away stops the body.
 * (Not Koa's `stream.pipeline`: it costs an AbortController per response, and gives no word of a
 * chunk's write completing.)
 */
function sendBody(
  ctx: Context,
  status: number,
  blob: OpenBlob,
  onBytes: (count: number) => void,
): void {
  ctx.respond = false;
  // Koa's status, for the access log: the response itself is written here.
  ctx.status = status;
  const response = ctx.res;
  response.writeHead(status);
  if (blob.bytes) {
    const bytes = blob.bytes;
    onBytes(bytes.length);
    // Written once this turn of the event loop has read its other requests (setImmediate), so
    // the responses of a turn go out together: a write that wakes a waiting client costs an
    // inter-processor interrupt, and together they wake fewer (64 KiB from memory at 64
    // connections: 15,000 requests/s instead of 12,000 on the 2-core benchmark machine).
    setImmediate(() => {
      if (!response.destroyed) response.end(bytes);
    });
    return;
  }
  const body = blob.stream;
  response.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  const recycle = blob.recycle;
  body.on('data', (chunk: Buffer) => {
    onBytes(chunk.length);
    // A write that failed may still be referenced by the socket: only a completed one is reused.
    const written = recycle
      ? (error?: Error | null) => {
          if (!error) recycle(chunk);
        }
      : undefined;
    if (!response.write(chunk, written)) body.pause();
  });
  response.on('drain', () => body.resume());
  body.once('end', () => response.end());
  body.once('error', () => response.destroy());
}

/**
 * `GET`/`HEAD /v2/<name>/blobs/<digest>`: requires a valid blob grant for exactly that repository
 * and digest (hit or miss alike, before anything else is looked at), then serves the blob from the
 * caching store. One log line per request says hit, miss, coalesced or denied.
 */
async function serveBlob(
  ctx: Context,
  services: CacheServices,
  repository: string,
  digest: Digest,
): Promise<void> {
  const started = process.hrtime.bigint();
  let result = 'error';
  let bytes = 0;
  ctx.res.once('close', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    services.metrics.requests.inc({ method: ctx.method, result });
    services.metrics.bytesServed.inc({ result }, bytes);
    services.metrics.duration.observe({ result }, seconds);
    if (services.accessLog) {
      services.logger.info('blob request', {
        method: ctx.method,
        repo: repository,
        digest: digest.toString(),
        cache: result,
        status: ctx.status,
        bytes,
        complete: ctx.res.writableFinished,
        durationMs: Math.round(seconds * 1000),
      });
    }
  });

  const grant = grantFromQuery(ctx.querystring);
  try {
    await services.keys.verify(grant, { repository, digest });
  } catch (error) {
    if (error instanceof BlobGrantError) result = 'denied';
    throw error;
  }
  const blobs = services.cache.view({ repository, grant: grant as string });
  const etag = etagOf(digest);
  if (ctx.method === 'HEAD') {
    const info = await blobs.stat(digest);
    if (!info)
      throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: digest.toString() } });
    result = 'head';
    setBlobHeaders(ctx, digest, etag);
    ctx.status = 200;
    ctx.length = info.size;
    return;
  }
  if (ctx.get(Headers.ifNoneMatch) === etag) {
    result = 'not-modified';
    setBlobHeaders(ctx, digest, etag);
    ctx.status = 304;
    return;
  }
  let blob = await blobs.open(digest);
  const range = parseRangeHeader(ctx.get(Headers.range) || undefined, blob.size);
  if (range.kind === 'unsatisfiable') {
    blob.stream.destroy();
    throw rangeNotSatisfiable(blob.size);
  }
  if (range.kind === 'partial') {
    blob.stream.destroy();
    blob = await blobs.open(digest, range.range);
    ctx.set(Headers.contentRange, formatContentRange(range.range, blob.size));
  }
  result = blob.source ?? 'hit';
  setBlobHeaders(ctx, digest, etag);
  ctx.res.setHeader(
    Headers.contentLength,
    range.kind === 'partial' ? rangeLength(range.range) : blob.size,
  );
  sendBody(ctx, range.kind === 'partial' ? 206 : 200, blob, (count) => (bytes += count));
}

/**
 * The headers of a blob answer (not of an error: they say what the content is and that it may be
 * cached for good). Set on the response directly: Koa's setters cost more, on every hit.
 */
function setBlobHeaders(ctx: Context, digest: Digest, etag: string): void {
  const response = ctx.res;
  response.setHeader(Headers.contentDigest, digest.toString());
  response.setHeader(Headers.etag, etag);
  response.setHeader(Headers.acceptRanges, 'bytes');
  response.setHeader('Cache-Control', 'max-age=31536000');
  response.setHeader(Headers.contentType, 'application/octet-stream');
}

/** Builds the cache's Koa application; it never listens. */
export function createApp(services: CacheServices): Koa {
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
    ctx.set(Headers.apiVersion, API_VERSION);
    const route = matchRegistryRoute(ctx.path, ctx.method);
    if (!route) throw new RegistryError('NOT_FOUND', undefined, { detail: { path: ctx.path } });
    if (route.name === 'base') {
      ctx.body = {};
      return;
    }
    if (route.name === 'blob' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      return serveBlob(ctx, services, route.repository, route.digest);
    }
    throw new RegistryError(
      'UNSUPPORTED',
      'a content cache serves blobs only; manifests and pushes go to DTR',
    );
  });
  return app;
}

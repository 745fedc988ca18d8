import Koa from 'koa';
import { BLOB_GRANT_KEYS_PATH, RegistryError } from '@dtr-cache/registry-protocol';
import { apiDocs } from './api/api-docs';
import { apiRouter } from './api/api-router';
import type { Authentication } from './auth/authenticate';
import { checkCsrf } from './auth/csrf';
import { configuredHeaders, registryErrorMiddleware } from './http/registry-error-middleware';
import { tokenEndpoint } from './auth/token-endpoint';
import { registryRouter } from './registry/registry-router';
import { clientAddress, clientOf } from './request-context';
import type { DtrServices } from './services';
import { isDatabaseUnavailable } from './store/database';
import { webUi } from './ui/web-ui';

/**
 * One `request` line per request, once it is answered (errors included): method, path (never the
 * query, which may carry upload state), status, bytes, who asked and from where (the client
 * address, see `network.trustedproxies`). A blob GET redirected to a content cache shows as status
 * 307.
 */
function accessLog(services: DtrServices): Koa.Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const principal = (ctx.state['auth'] as Authentication | undefined)?.principal;
      services.logger.info('request', {
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        bytes: ctx.length,
        account: principal?.kind === 'user' ? principal.account.name : undefined,
        client: clientOf(ctx),
        durationMs: Math.round(performance.now() - started),
      });
    }
  };
}

/** Builds DTR's Koa application. It never listens: main.ts (or a test) serves its callback. */
export function createApp(services: DtrServices): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true;
  const api = apiRouter(services);
  const ui = webUi(services);
  const isFormRoute = (ctx: Koa.Context) => ui.match(ctx.path, ctx.method).route;
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      services.metrics.observeRequest(
        ctx.path,
        ctx.method,
        ctx.status,
        (performance.now() - started) / 1000,
      );
    }
  });
  app.use(clientAddress(services.options.trustedProxies));
  if (services.options.accessLog) app.use(accessLog(services));
  app.use(configuredHeaders(services.options.headers));
  app.use(
    registryErrorMiddleware({
      onUnexpectedError: (error, ctx) =>
        services.logger.error('request failed', { method: ctx.method, path: ctx.path, error }),
      classify: (error, ctx) => {
        if (!isDatabaseUnavailable(error)) return undefined;
        services.logger.warn('request failed: the database does not answer', {
          method: ctx.method,
          path: ctx.path,
          error,
        });
        return new RegistryError('UNAVAILABLE', 'the database does not answer: retry shortly', {
          headers: { 'Retry-After': '5' },
        });
      },
    }),
  );
  app.use(async (ctx, next) => {
    if (ctx.path === BLOB_GRANT_KEYS_PATH && ctx.method === 'GET') {
      ctx.set('Cache-Control', 'max-age=30');
      ctx.body = services.grantKeys.keySet();
      return;
    }
    if (ctx.path === '/health' && ctx.method === 'GET') {
      // Unauthenticated, for load balancers and container health checks: the database answers
      // (503 while it does not: a load balancer sends requests to another replica).
      ctx.set('Cache-Control', 'no-store');
      try {
        ctx.body = { status: 'ok', contentCaches: (await services.caches.list()).length };
      } catch (error) {
        services.logger.warn('health check failed: the database does not answer', { error });
        ctx.status = 503;
        ctx.body = { status: 'unavailable', reason: 'the database does not answer' };
      }
      return;
    }
    if (ctx.path === '/metrics' && ctx.method === 'GET' && services.options.metricsOnMainPort) {
      // Unauthenticated, like the content cache's: counts by route, status and cache name only.
      ctx.set('Cache-Control', 'no-store');
      ctx.type = services.metrics.registry.contentType;
      ctx.body = await services.metrics.registry.metrics();
      return;
    }
    if (ctx.path === '/ca' && ctx.method === 'GET') {
      if (services.options.caCertificatePem === undefined) return next();
      ctx.type = 'application/x-pem-file';
      ctx.body = services.options.caCertificatePem;
      return;
    }
    // The web UI's session cookie counts everywhere but the registry API and the token service,
    // which registry clients use with their own credentials.
    const registryClientPath =
      ctx.path === '/v2' || ctx.path.startsWith('/v2/') || ctx.path === '/auth/token';
    const auth = await services.authenticator.authenticate(ctx, {
      allowSession: !registryClientPath,
    });
    ctx.state['auth'] = auth;
    checkCsrf(ctx, auth, isFormRoute);
    if (ctx.path === '/auth/token' && ctx.method === 'GET')
      return tokenEndpoint(ctx, services, auth.principal);
    return next();
  });
  app.use(apiDocs());
  app.use(ui.routes());
  if (services.options.readOnly) app.use(refuseRegistryWrites);
  app.use(registryRouter(services));
  app.use(api.routes());
  app.use(api.allowedMethods({ throw: true }));
  return app;
}

/**
 * `storage.maintenance.readonly`: pulls are served; pushes and deletes are refused, through the
 * registry API and through DTR's API (deleting a repository, or an account with its repositories).
 */
const refuseRegistryWrites: Koa.Middleware = async (ctx, next) => {
  const registryWrite =
    (ctx.path === '/v2' || ctx.path.startsWith('/v2/')) &&
    !['GET', 'HEAD', 'OPTIONS'].includes(ctx.method);
  const contentDelete =
    ctx.method === 'DELETE' &&
    /^\/api\/v0\/(repositories\/[^/]+\/[^/]+|accounts\/[^/]+)\/?$/.test(ctx.path);
  if (registryWrite || contentDelete)
    throw new RegistryError(
      'UNSUPPORTED',
      'the registry is in read-only mode (storage.maintenance.readonly): pulls only',
    );
  return next();
};

import Koa from 'koa';
import { BLOB_GRANT_KEYS_PATH, registryErrorMiddleware } from '@dtr-cache/registry-protocol';
import { apiDocs } from './api/api-docs';
import { apiRouter } from './api/api-router';
import { tokenEndpoint } from './auth/token-endpoint';
import { registryRouter } from './registry/registry-router';
import type { DtrServices } from './services';

/** Builds DTR's Koa application. It never listens: main.ts (or a test) serves its callback. */
export function createApp(services: DtrServices): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true;
  const api = apiRouter(services);
  app.use(async (ctx, next) => {
    for (const [name, values] of Object.entries(services.options.headers))
      ctx.set(name, [...values]);
    await next();
  });
  app.use(
    registryErrorMiddleware({
      onUnexpectedError: (error, ctx) =>
        services.logger.error('request failed', { method: ctx.method, path: ctx.path, error }),
    }),
  );
  app.use(apiDocs());
  app.use(async (ctx, next) => {
    if (ctx.path === BLOB_GRANT_KEYS_PATH && ctx.method === 'GET') {
      ctx.set('Cache-Control', 'max-age=30');
      ctx.body = services.grantKeys.keySet();
      return;
    }
    if (ctx.path === '/ca' && ctx.method === 'GET') {
      if (services.options.caCertificatePem === undefined) return next();
      ctx.type = 'application/x-pem-file';
      ctx.body = services.options.caCertificatePem;
      return;
    }
    ctx.state['auth'] = await services.authenticator.authenticate(ctx);
    if (ctx.path === '/auth/token' && ctx.method === 'GET')
      return tokenEndpoint(ctx, services, ctx.state['auth'].principal);
    return next();
  });
  app.use(registryRouter(services));
  app.use(api.routes());
  app.use(api.allowedMethods({ throw: true }));
  return app;
}

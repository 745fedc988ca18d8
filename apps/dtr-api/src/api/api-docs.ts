import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Middleware } from 'koa';
import swaggerUiDist from 'swagger-ui-dist';
import { openApiDocument } from './openapi-document';

/** Files of swagger-ui-dist the docs page uses, served from the package (no CDN). */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>DTR API</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '/api/v0/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: false,
  withCredentials: true,
  persistAuthorization: false,
});
`;

/**
 * `GET /api/v0/openapi.json` (the OpenAPI document) and `GET /api/docs` (interactive API docs,
 * Swagger UI, where an administrator can "Try it out", e.g. `POST /api/v0/content_caches`).
 */
export function apiDocs(): Middleware {
  const assetDirectory = swaggerUiDist.getAbsoluteFSPath();
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/api/v0/openapi.json') {
      ctx.body = openApiDocument;
      return;
    }
    if (ctx.path === '/api/docs' || ctx.path === '/api/docs/') {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = PAGE;
      return;
    }
    if (ctx.path === '/api/docs/init.js') {
      ctx.type = 'application/javascript; charset=utf-8';
      ctx.body = INIT;
      return;
    }
    const asset = ctx.path.startsWith('/api/docs/')
      ? ctx.path.slice('/api/docs/'.length)
      : undefined;
    const type = asset === undefined ? undefined : ASSETS[asset];
    if (asset === undefined || type === undefined) return next();
    ctx.type = type;
    ctx.set('Cache-Control', 'max-age=3600');
    ctx.body = createReadStream(join(assetDirectory, asset));
  };
}

import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Middleware } from 'koa';
import swaggerUiDist from 'swagger-ui-dist';
import { CSRF_HEADER } from '../auth/authenticate';
import { authenticationOf } from '../registry/registry-access';
import { html } from '../ui/html';
import { openApiDocument } from './openapi-document';

/** Files of swagger-ui-dist the docs page uses, served from the package (no CDN). */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
};

/** The docs page: a slim top bar, the CSRF token of a signed-in session, and Swagger UI. */
function docsPage(session: { name: string; csrfToken: string } | undefined): string {
  const who = session
    ? html`<a href="/users/${session.name}">${session.name}</a>`
    : html`<a href="/login?next=/api/docs">Sign in</a> to try calls with your session`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>DTR API</title>
        <link rel="icon" href="/favicon.ico" />
        ${session && html`<meta name="csrf-token" content="${session.csrfToken}" />`}
        <link rel="stylesheet" href="/api/docs/swagger-ui.css" />
        <style>
          .docs-bar {
            background: #14202e;
            color: #c9d6e3;
            font:
              15px system-ui,
              sans-serif;
            padding: 0 24px;
            height: 56px;
            display: flex;
            align-items: center;
            gap: 24px;
          }
          .docs-bar a {
            color: #fff;
          }
          .docs-bar .brand {
            font-weight: 700;
            font-size: 18px;
            text-decoration: none;
          }
          .docs-bar .who {
            margin-left: auto;
          }
          @media (max-width: 720px) {
            .docs-bar {
              padding: 0 14px;
              gap: 12px;
            }
            .swagger-ui .wrapper {
              padding: 0 8px;
            }
            .swagger-ui .opblock-section-header,
            .swagger-ui .try-out {
              flex-wrap: wrap;
            }
            .swagger-ui pre,
            .swagger-ui pre code {
              white-space: pre-wrap;
              word-break: break-all;
            }
          }
        </style>
      </head>
      <body>
        <div class="docs-bar">
          <a class="brand" href="/">DTR</a><span>API docs</span><span class="who">${who}</span>
        </div>
        <div id="swagger-ui"></div>
        <script src="/api/docs/swagger-ui-bundle.js"></script>
        <script src="/api/docs/init.js"></script>
      </body>
    </html> `.value;
}

// A signed-in browser's calls carry the session's CSRF token (the session cookie goes along, as
// the page and the API share an origin).
const INIT = `const csrf = document.querySelector('meta[name="csrf-token"]');
window.ui = SwaggerUIBundle({
  url: '/api/v0/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: false,
  persistAuthorization: false,
  requestInterceptor: (request) => {
    if (csrf) request.headers['${CSRF_HEADER}'] = csrf.content;
    return request;
  },
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
      const { principal, credentials } = authenticationOf(ctx);
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = docsPage(
        principal.kind === 'user' && credentials.kind === 'session'
          ? { name: principal.account.name, csrfToken: credentials.csrfToken }
          : undefined,
      );
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

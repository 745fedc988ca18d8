import Router from '@koa/router';
import type { DtrServices } from '../services';
import { accountRoutes } from './account-routes';
import { contentCacheRoutes } from './content-cache-routes';
import { quotaRoutes } from './quota-routes';
import { repositoryRoutes } from './repository-routes';

/**
 * DTR's JSON API under `/api/v0`: accounts (users and organizations), organization members,
 * repositories and content caches. Authenticated with HTTP Basic, a bearer token or the web UI's
 * session (with its CSRF token); bodies are JSON; errors use the registry envelope.
 */
export function apiRouter(services: DtrServices): Router {
  const router = new Router({ prefix: '/api/v0' });
  accountRoutes(router, services);
  quotaRoutes(router, services);
  repositoryRoutes(router, services);
  contentCacheRoutes(router, services);
  return router;
}

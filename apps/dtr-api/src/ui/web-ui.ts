import Router from '@koa/router';
import type { DtrServices } from '../services';
import { cacheRoutes } from './cache-routes';
import { organizationRoutes } from './organization-routes';
import { pageKit } from './page-kit';
import { profileRoutes } from './profile-routes';
import { repositoryRoutes } from './repository-routes';
import { sessionRoutes } from './session-routes';
import { userAdminRoutes } from './user-admin-routes';

/**
 * The web UI: sign in and out (a session cookie; every form carries the session's CSRF token),
 * a user's profile with the Settings tab's content cache selector, and for administrators the
 * Content Caches page. Pages are server-rendered HTML; the operations are the same functions the
 * JSON API uses, so both validate alike. Each group of pages registers its routes on one router.
 */
export function webUi(services: DtrServices): Router {
  const router = new Router();
  const kit = pageKit(services, router);
  sessionRoutes(kit);
  profileRoutes(kit);
  cacheRoutes(kit);
  organizationRoutes(kit);
  userAdminRoutes(kit);
  repositoryRoutes(kit);
  return router;
}

import { RegistryError } from '@dtr-cache/registry-protocol';
import {
  cacheById,
  contentCacheDashboard,
  contentCacheDashboards,
  deleteContentCache,
  registerContentCache,
} from '../api/content-cache-routes';
import { contentCachesPage } from './cache-pages';
import { DASHBOARD_SCRIPT, DASHBOARD_SCRIPT_PATH } from './dashboard-live';
import { cacheDashboardPage, deleteCachePage } from './dashboard-pages';
import { noticeOf, PageError, type PageKit, show } from './page-kit';
import type { Notice } from './ui-pages';

const NOTICES: Readonly<Record<string, Notice>> = {
  registered: { kind: 'ok', text: 'The content cache was registered.' },
  deleted: { kind: 'ok', text: 'The content cache was deleted.' },
};

const MANAGE = 'manage content caches';

const NO_SUCH_CACHE = () =>
  new PageError(404, 'No such content cache', 'That content cache does not exist (any more).');

/**
 * Administrators: the Content Caches page (every cache's live numbers, the topology, registering
 * a cache), each cache's dashboard, and deleting one after a confirmation page.
 */
export function cacheRoutes(kit: PageKit): void {
  const { router, services, page, requireViewer } = kit;

  /** The page's live script (the same for everyone; it reads what its reader may read). */
  router.get(DASHBOARD_SCRIPT_PATH, (ctx) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'max-age=300');
    ctx.body = DASHBOARD_SCRIPT;
  });

  router.get(
    '/admin/content-caches',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      kit.requireAdmin(viewer, MANAGE);
      show(
        ctx,
        contentCachesPage({
          viewer,
          ...(await contentCacheDashboards(services)),
          notices: noticeOf(ctx, NOTICES),
        }),
      );
    }),
  );

  router.post(
    '/admin/content-caches',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer, form } = submitted;
      kit.requireAdmin(viewer, MANAGE);
      const input = {
        name: (form.get('name') ?? '').trim(),
        hosts: (form.get('hosts') ?? '').trim(),
        networks: (form.get('networks') ?? '').trim(),
      };
      const lines = (text: string) =>
        text
          .split(/[\s,]+/)
          .map((line) => line.trim())
          .filter((line) => line !== '');
      try {
        await registerContentCache(services, {
          name: input.name,
          hosts: lines(input.hosts),
          networks: lines(input.networks),
        });
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error;
        const reason = (error.detail as { reason?: string } | undefined)?.reason;
        return show(
          ctx,
          contentCachesPage({
            viewer,
            ...(await contentCacheDashboards(services)),
            form: input,
            notices: [
              {
                kind: 'error',
                text: `Not registered: ${error.message}${reason ? ` (${reason})` : ''}.`,
              },
            ],
          }),
          error.status,
        );
      }
      services.logger.info('content cache registered', {
        name: input.name,
        hosts: lines(input.hosts).length,
      });
      ctx.redirect('/admin/content-caches?notice=registered');
    }),
  );

  router.get(
    '/admin/content-caches/:id',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      kit.requireAdmin(viewer, MANAGE);
      let dashboard;
      try {
        dashboard = await contentCacheDashboard(services, ctx.params['id']);
      } catch (error) {
        if (error instanceof RegistryError && error.code === 'NOT_FOUND') throw NO_SUCH_CACHE();
        throw error;
      }
      show(
        ctx,
        cacheDashboardPage({ viewer, dashboard, networks: dashboard.networks, notices: [] }),
      );
    }),
  );

  router.get(
    '/admin/content-caches/:id/delete',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      kit.requireAdmin(viewer, MANAGE);
      let cache;
      try {
        cache = await cacheById(services, ctx.params['id']);
      } catch (error) {
        if (error instanceof RegistryError && error.code === 'NOT_FOUND') throw NO_SUCH_CACHE();
        throw error;
      }
      const users = (await services.cacheStats.store.usersByCache()).get(cache.id) ?? 0;
      show(ctx, deleteCachePage({ viewer, cache, users }));
    }),
  );

  router.post(
    '/admin/content-caches/:id/delete',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      kit.requireAdmin(submitted.viewer, MANAGE);
      try {
        const cache = await deleteContentCache(services, ctx.params['id']);
        services.logger.info('content cache deleted', { name: cache.name });
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error;
        throw NO_SUCH_CACHE();
      }
      ctx.redirect('/admin/content-caches?notice=deleted');
    }),
  );
}

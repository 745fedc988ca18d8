import { RegistryError } from '@dtr-cache/registry-protocol';
import { deleteContentCache, registerContentCache } from '../api/content-cache-routes';
import { contentCachesPage } from './cache-pages';
import { noticeOf, PageError, type PageKit, show } from './page-kit';
import { cacheViews } from './profile-routes';
import type { Notice } from './ui-pages';

const NOTICES: Readonly<Record<string, Notice>> = {
  registered: { kind: 'ok', text: 'The content cache was registered.' },
  deleted: { kind: 'ok', text: 'The content cache was deleted.' },
};

const MANAGE = 'manage content caches';

/** Administrators: the Content Caches page, registering and deleting caches. */
export function cacheRoutes(kit: PageKit): void {
  const { router, services, page, requireViewer } = kit;

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
          caches: await cacheViews(services),
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
            caches: await cacheViews(services),
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
        throw new PageError(404, 'No such content cache', 'That content cache no longer exists.');
      }
      ctx.redirect('/admin/content-caches?notice=deleted');
    }),
  );
}

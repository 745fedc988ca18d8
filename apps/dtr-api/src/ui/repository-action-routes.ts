import type { Context } from 'koa';
import {
  changeRepositoryVisibility,
  checkMayDelete,
  deleteRepository,
  deleteRepositoryTag,
  visibilityOf,
} from '../api/repository-routes';
import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Repository } from '../store/repository-store';
import { html } from './html';
import { type PageKit, show } from './page-kit';
import { confirmationPage } from './confirmation-page';
import {
  asPage,
  pageErrorOf,
  principalOf,
  routeTag,
  visibleRepository,
} from './repository-page-errors';
import { repositoryPath, tagDeletePath } from './repository-query';
import type { Viewer } from './ui-pages';

/**
 * The owners' actions on a repository: change its visibility; delete a tag or the repository,
 * each after a confirmation page (GET) naming what goes, then a POST with the CSRF token. Every
 * action is the JSON API's own operation, so both authorize alike; a repository the viewer may
 * not see answers 404, one they see but may not change 403.
 */
export function repositoryActionRoutes(kit: PageKit): void {
  const { router, services, page, requireViewer } = kit;
  const visible = (ctx: Context, viewer: Viewer) => visibleRepository(services, ctx, viewer);

  router.post(
    '/repositories/:namespace/:name/visibility',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer, form } = submitted;
      const repository = await visible(ctx, viewer);
      const changed = await asPage(repository.fullName, async () =>
        changeRepositoryVisibility(
          services,
          principalOf(viewer),
          repository,
          visibilityOf(form.get('visibility') ?? ''),
        ),
      );
      services.logger.info('repository visibility changed', {
        repository: changed.fullName,
        visibility: changed.visibility,
        username: viewer.account.name,
      });
      ctx.redirect(`${repositoryPath(changed.fullName)}?notice=${changed.visibility}`);
    }),
  );

  /** Refuses before a confirmation page what the POST would refuse (read-only, not allowed). */
  const checkAllowed = (viewer: Viewer, repository: Repository, what: 'repository' | 'tags') =>
    asPage(repository.fullName, () =>
      checkMayDelete(services, principalOf(viewer), repository, what),
    );

  router.get(
    '/repositories/:namespace/:name/delete',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      const repository = await visible(ctx, viewer);
      await checkAllowed(viewer, repository, 'repository');
      const { tagCount } = await services.repositories.activity(repository);
      show(
        ctx,
        confirmationPage({
          viewer,
          section: 'repositories',
          title: `Delete ${repository.fullName}?`,
          consequences: html`<p>
              The repository <strong>${repository.fullName}</strong> will be deleted with its
              ${tagCount} tag${tagCount === 1 ? '' : 's'} and every manifest. Pulls of it will fail;
              pushing to the name again creates a new, private repository.
            </p>
            <p><strong>This cannot be undone.</strong></p>`,
          button: 'Delete repository',
          action: `${repositoryPath(repository.fullName)}/delete`,
          cancel: repositoryPath(repository.fullName),
        }),
      );
    }),
  );

  router.post(
    '/repositories/:namespace/:name/delete',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer } = submitted;
      const repository = await visible(ctx, viewer);
      await asPage(repository.fullName, () =>
        deleteRepository(services, principalOf(viewer), repository),
      );
      services.logger.info('repository deleted', {
        repository: repository.fullName,
        username: viewer.account.name,
      });
      ctx.redirect('/repositories?notice=deleted');
    }),
  );

  router.get(
    '/repositories/:namespace/:name/tags/:tag/delete',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      const repository = await visible(ctx, viewer);
      const tag = routeTag(ctx);
      await checkAllowed(viewer, repository, 'tags');
      const found = await services.repositories.tag(repository, tag);
      if (!found) throw pageErrorOf(new RegistryError('MANIFEST_UNKNOWN'), repository.fullName);
      show(
        ctx,
        confirmationPage({
          viewer,
          section: 'repositories',
          title: `Delete tag ${repository.fullName}:${tag}?`,
          consequences: html`<p>
              The tag <strong>${tag}</strong> of <strong>${repository.fullName}</strong> will be
              deleted. The manifest it points at (<code class="digest">${found.digest}</code>)
              stays, pullable by its digest and by any other tag naming it.
            </p>
            <p><strong>This cannot be undone.</strong></p>`,
          button: 'Delete tag',
          action: tagDeletePath(repository.fullName, tag),
          cancel: repositoryPath(repository.fullName),
        }),
      );
    }),
  );

  router.post(
    '/repositories/:namespace/:name/tags/:tag/delete',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer } = submitted;
      const repository = await visible(ctx, viewer);
      const tag = routeTag(ctx);
      await asPage(repository.fullName, () =>
        deleteRepositoryTag(services, principalOf(viewer), repository, tag),
      );
      services.logger.info('tag deleted', {
        repository: repository.fullName,
        tag,
        username: viewer.account.name,
      });
      ctx.redirect(`${repositoryPath(repository.fullName)}?notice=tag-deleted`);
    }),
  );
}

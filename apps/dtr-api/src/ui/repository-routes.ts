import type { Context } from 'koa';
import { repositoryPermissions } from '../api/repository-routes';
import { noticeOf, type PageKit, show } from './page-kit';
import { repositoryActionRoutes } from './repository-action-routes';
import { registryHost } from './repository-format';
import { repositoryListPage } from './repository-list-page';
import { repositoryPage } from './repository-page';
import { principalOf, visibleRepository } from './repository-page-errors';
import {
  chosenTag,
  pageNumber,
  parseListQuery,
  REPOSITORY_PAGE_SIZE,
  TAG_PAGE_SIZE,
} from './repository-query';
import { tagDetails } from './repository-tag-details';
import type { Notice, Viewer } from './ui-pages';

/** Namespaces offered by the list's filter, at most. */
const MAX_NAMESPACES = 500;

const LIST_NOTICES: Readonly<Record<string, Notice>> = {
  deleted: { kind: 'ok', text: 'The repository was deleted.' },
};

const REPOSITORY_NOTICES: Readonly<Record<string, Notice>> = {
  public: { kind: 'ok', text: 'The repository is now public: anyone can pull it.' },
  private: { kind: 'ok', text: 'The repository is now private.' },
  'tag-deleted': { kind: 'ok', text: 'The tag was deleted.' },
};

/**
 * The repository pages: the list (`/repositories`), a repository with its tags and pull
 * commands, and (repository-action-routes.ts) the owners' actions.
 */
export function repositoryRoutes(kit: PageKit): void {
  const { router, services, page, requireViewer } = kit;
  const visible = (ctx: Context, viewer: Viewer) => visibleRepository(services, ctx, viewer);

  router.get(
    '/repositories',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      const query = parseListQuery(ctx.query);
      const browser = { id: viewer.account.id, isAdmin: viewer.account.isAdmin };
      const { repositories, total } = await services.repositories.browse(
        {
          browser,
          search: query.search,
          ...(query.namespace !== '' ? { namespace: query.namespace } : {}),
          ...(query.visibility !== 'all' ? { visibility: query.visibility } : {}),
        },
        { offset: (query.page - 1) * REPOSITORY_PAGE_SIZE, limit: REPOSITORY_PAGE_SIZE },
      );
      // The query follows the policy's pull rule; the policy itself has the last word.
      const pullable = new Set(
        (await services.policy.pullable(principalOf(viewer), repositories)).map(({ id }) => id),
      );
      show(
        ctx,
        repositoryListPage({
          viewer,
          query,
          repositories: repositories.filter(({ id }) => pullable.has(id)),
          total,
          namespaces: await services.repositories.browseNamespaces(browser, MAX_NAMESPACES),
          host: registryHost(ctx.host),
          notices: noticeOf(ctx, LIST_NOTICES),
        }),
      );
    }),
  );

  router.get(
    '/repositories/:namespace/:name',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      const repository = await visible(ctx, viewer);
      const pageNo = pageNumber(ctx.query);
      const requested = chosenTag(ctx.query);
      const tags = await services.repositories.tagPage(repository, {
        offset: (pageNo - 1) * TAG_PAGE_SIZE,
        limit: TAG_PAGE_SIZE,
      });
      const newest =
        pageNo === 1
          ? tags[0]
          : (await services.repositories.tagPage(repository, { offset: 0, limit: 1 }))[0];
      const chosen =
        requested === '' ? undefined : await services.repositories.tag(repository, requested);
      const missing: Notice[] =
        requested !== '' && !chosen
          ? [
              {
                kind: 'error',
                text: `There is no tag "${requested}": the commands pull the most recent tag.`,
              },
            ]
          : [];
      const principal = principalOf(viewer);
      show(
        ctx,
        repositoryPage({
          viewer,
          repository,
          activity: await services.repositories.activity(repository),
          tags: await tagDetails(services, repository, tags),
          page: pageNo,
          chosenTag: (chosen ?? newest)?.name,
          host: registryHost(ctx.host),
          actions: await repositoryPermissions(services, principal, repository),
          readOnly: services.options.readOnly,
          notices: [...missing, ...noticeOf(ctx, REPOSITORY_NOTICES)],
        }),
        missing.length > 0 ? 404 : 200,
      );
    }),
  );

  repositoryActionRoutes(kit);
}

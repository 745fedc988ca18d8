import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { cacheJson, chooseContentCache, effectiveCache } from '../api/content-cache-routes';
import { clientOf } from '../request-context';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import type { ContentCache } from '../store/content-cache-store';
import { noticeOf, PageError, type PageKit, show } from './page-kit';
import { AUTOMATIC_CHOICE, profilePage, settingsPage } from './profile-pages';
import type { CacheView, Notice, Viewer } from './ui-pages';

const NOTICES: Readonly<Record<string, Notice>> = {
  saved: { kind: 'ok', text: 'Your content cache setting was saved.' },
};

/** Every registered content cache as the pages show it. */
export async function cacheViews(services: DtrServices): Promise<CacheView[]> {
  return (await services.caches.list()).map((cache) => cacheJson(services, cache));
}

/**
 * The warning shown when the chosen cache is unhealthy, or not checked yet (the setting is saved
 * all the same, but DTR serves the user's layers itself meanwhile), with the reason of its last
 * health check; undefined for a healthy cache.
 */
function unhealthyChoiceWarning(
  services: DtrServices,
  cache: Pick<ContentCache, 'id' | 'name' | 'hosts'>,
): string | undefined {
  const health = services.cacheHealth.status(cache);
  if (health.healthy === true) return undefined;
  const state =
    health.healthy === false
      ? `unhealthy (${health.error ?? 'no answer'})`
      : 'not checked yet, so not known to be healthy';
  return `Saved, but ${cache.name} is ${state}: until one of its members is healthy, DTR serves your layers itself.`;
}

/** A user's profile and its Settings tab (the content cache selector). */
export function profileRoutes(kit: PageKit): void {
  const { router, services, page, requireViewer } = kit;

  /** The user whose profile `viewer` opens: their own, or anyone's for administrators. */
  const profileUser = async (viewer: Viewer, name: string | undefined): Promise<Account> => {
    const account = name === undefined ? undefined : await services.accounts.find(name);
    if (!account || account.kind !== 'user')
      throw new PageError(404, 'No such user', `There is no user named "${name ?? ''}".`);
    if (account.name !== viewer.account.name && !viewer.account.isAdmin)
      throw new PageError(403, 'Not allowed', 'You can open only your own profile.');
    return account;
  };

  /** The Settings tab of `user`, with the cache they pull through now. */
  const showSettings = async (
    ctx: Context,
    viewer: Viewer,
    user: Account,
    notices: Notice[],
    status = 200,
  ) => {
    const effective = await effectiveCache(services, user, clientOf(ctx));
    const warning =
      ctx.query['notice'] === 'saved' && effective.choice === 'cache' && effective.cache
        ? unhealthyChoiceWarning(services, effective.cache)
        : undefined;
    show(
      ctx,
      settingsPage({
        viewer,
        user,
        caches: await cacheViews(services),
        selected:
          effective.choice === 'automatic'
            ? AUTOMATIC_CHOICE
            : effective.choice === 'cache'
              ? (effective.cache?.name ?? '')
              : '',
        pullsGoTo: {
          cache: effective.cache?.name,
          reason: effective.reason,
          healthy: effective.healthy ?? undefined,
        },
        // Saved, but not a success: the warning replaces the green notice.
        notices: warning ? notices.filter((notice) => notice.kind !== 'ok') : notices,
        warning,
      }),
      status,
    );
  };

  router.get(
    '/users/:name',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      const user = await profileUser(viewer, ctx.params['name']);
      const repositories = await services.policy.pullable(
        { kind: 'user', account: viewer.account },
        await services.repositories.list({ namespace: user.name, limit: 100 }),
      );
      show(
        ctx,
        profilePage({
          viewer,
          user,
          contentCache: (await services.caches.cacheOf(user))?.name,
          repositories,
          organizations: (await services.memberships.organizationsOf(user)).map(
            ({ organization, role }) => ({ name: organization.name, role }),
          ),
        }),
      );
    }),
  );

  router.get(
    '/users/:name/settings',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      const user = await profileUser(viewer, ctx.params['name']);
      await showSettings(ctx, viewer, user, noticeOf(ctx, NOTICES));
    }),
  );

  router.post(
    '/users/:name/settings',
    page(async (ctx) => {
      const submitted = await kit.signedInForm(ctx);
      if (!submitted) return;
      const { viewer, form } = submitted;
      const user = await profileUser(viewer, ctx.params['name']);
      const choice = form.get('contentCache') ?? '';
      try {
        if (choice === AUTOMATIC_CHOICE)
          await chooseContentCache(services, user, undefined, 'automatic');
        else await chooseContentCache(services, user, choice);
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error;
        return showSettings(
          ctx,
          viewer,
          user,
          [{ kind: 'error', text: `Not saved: ${error.message}.` }],
          400,
        );
      }
      services.logger.info('content cache chosen', { username: user.name, contentCache: choice });
      ctx.redirect(`/users/${user.name}/settings?notice=saved`);
    }),
  );
}

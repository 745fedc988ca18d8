import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import {
  cacheJson,
  chooseContentCache,
  effectiveCache,
  deleteContentCache,
  registerContentCache,
} from '../api/content-cache-routes';
import { csrfTokenMatches, SESSION_COOKIE } from '../auth/authenticate';
import { readSmallBody } from '../read-body';
import { authenticationOf } from '../registry/registry-access';
import { clientOf } from '../request-context';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import { contentCachesPage } from './cache-pages';
import { AUTOMATIC_CHOICE, profilePage, settingsPage } from './profile-pages';
import { type CacheView, errorPage, type Notice, signInPage, type Viewer } from './ui-pages';
import { UI_STYLESHEET } from './ui-style';

/** Cookie of the sign-in form's CSRF token (double submit: cookie and hidden field must match). */
const SIGN_IN_CSRF_COOKIE = 'dtr_signin_csrf';

/** Fixed texts for `?notice=` after a redirect (never text from the URL itself). */
const NOTICES: Readonly<Record<string, Notice>> = {
  'signed-out': { kind: 'ok', text: 'You have signed out.' },
  'session-expired': { kind: 'error', text: 'Please sign in to continue.' },
  saved: { kind: 'ok', text: 'Your content cache setting was saved.' },
  registered: { kind: 'ok', text: 'The content cache was registered.' },
  deleted: { kind: 'ok', text: 'The content cache was deleted.' },
};

/** A refusal shown as an HTML page (the API's errors use the JSON envelope instead). */
class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded'))
    throw new PageError(415, 'Unsupported form', 'The form must be sent URL-encoded.');
  return new URLSearchParams((await readSmallBody(ctx.req, 64 * 1024)).toString('utf8'));
}

/** Only paths of this site: "/x", never "//host" or an absolute URL. */
function safeNext(value: string | null | undefined): string | undefined {
  return value && /^\/(?![/\\])/.test(value) ? value : undefined;
}

function noticeOf(ctx: Context): Notice[] {
  const notice = NOTICES[String(ctx.query['notice'] ?? '')];
  return notice ? [notice] : [];
}

async function cacheViews(services: DtrServices): Promise<CacheView[]> {
  return (await services.caches.list()).map((cache) => cacheJson(services, cache));
}

/** Renders `page` (HTML) with `status`. */
function show(ctx: Context, page: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = page;
}

/**
 * The web UI: sign in and out (a session cookie; every form carries the session's CSRF token),
 * a user's profile with the Settings tab's content cache selector, and for administrators the
 * Content Caches page. Pages are server-rendered HTML without scripts; the operations are the same
 * functions the JSON API uses, so both validate alike.
 */
export function webUi(services: DtrServices): Router {
  const router = new Router();

  /** Runs a page handler, showing a refusal (or a too-large form) as an HTML page. */
  const page =
    (handler: (ctx: Context) => Promise<void> | void) =>
    async (ctx: Context): Promise<void> => {
      try {
        await handler(ctx);
      } catch (error) {
        const viewer = viewerOf(ctx);
        const frame = viewer ? { viewer } : {};
        if (error instanceof PageError) {
          show(
            ctx,
            errorPage({ ...frame, title: error.title, message: error.message }),
            error.status,
          );
        } else if (error instanceof RegistryError && error.code === 'TOO_LARGE') {
          show(ctx, errorPage({ ...frame, title: 'Form too large', message: error.message }), 413);
        } else {
          throw error;
        }
      }
    };

  const viewerOf = (ctx: Context): Viewer | undefined => {
    const { principal, credentials } = authenticationOf(ctx);
    if (principal.kind !== 'user' || credentials.kind !== 'session') return undefined;
    return { account: principal.account, csrfToken: credentials.csrfToken };
  };

  /** The signed-in viewer; otherwise redirects to the sign-in page and returns undefined. */
  const requireViewer = (ctx: Context): Viewer | undefined => {
    const viewer = viewerOf(ctx);
    if (!viewer) {
      const expired = ctx.cookies.get(SESSION_COOKIE) !== undefined;
      ctx.redirect(
        `/login?next=${encodeURIComponent(ctx.originalUrl)}${expired ? '&notice=session-expired' : ''}`,
      );
    }
    return viewer;
  };

  const checkCsrf = (viewer: Viewer, form: URLSearchParams) => {
    if (!csrfTokenMatches(form.get('_csrf') ?? undefined, viewer.csrfToken)) {
      throw new PageError(
        403,
        'Request refused',
        'This form has expired or did not come from this site. Reload the page and try again.',
      );
    }
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
        notices,
      }),
      status,
    );
  };

  /** A form posted by the signed-in viewer with the session's CSRF token (else as requireViewer). */
  const signedInForm = async (
    ctx: Context,
  ): Promise<{ viewer: Viewer; form: URLSearchParams } | undefined> => {
    const viewer = requireViewer(ctx);
    if (!viewer) return undefined;
    const form = await readForm(ctx);
    checkCsrf(viewer, form);
    return { viewer, form };
  };

  /** The user whose profile `viewer` opens: their own, or anyone's for administrators. */
  const profileUser = async (viewer: Viewer, name: string | undefined): Promise<Account> => {
    const account = name === undefined ? undefined : await services.accounts.find(name);
    if (!account || account.kind !== 'user')
      throw new PageError(404, 'No such user', `There is no user named "${name ?? ''}".`);
    if (account.name !== viewer.account.name && !viewer.account.isAdmin)
      throw new PageError(403, 'Not allowed', 'You can open only your own profile.');
    return account;
  };

  const requireAdmin = (viewer: Viewer) => {
    if (!viewer.account.isAdmin)
      throw new PageError(403, 'Administrators only', 'Only administrators manage content caches.');
  };

  router.get(
    '/ui/style.css',
    page((ctx) => {
      ctx.type = 'text/css; charset=utf-8';
      ctx.set('Cache-Control', 'max-age=300');
      ctx.body = UI_STYLESHEET;
    }),
  );

  router.get(
    '/',
    page((ctx) => {
      const viewer = viewerOf(ctx);
      ctx.redirect(viewer ? `/users/${viewer.account.name}` : '/login');
    }),
  );

  const signIn = (
    ctx: Context,
    options: { username?: string; next?: string; notices: Notice[] },
    status = 200,
  ) => {
    const csrfToken = randomBytes(24).toString('base64url');
    ctx.cookies.set(SIGN_IN_CSRF_COOKIE, csrfToken, {
      httpOnly: true,
      sameSite: 'strict',
      secure: ctx.secure,
      path: '/login',
      overwrite: true,
    });
    show(ctx, signInPage({ csrfToken, ...options }), status);
  };

  router.get(
    '/login',
    page((ctx) => {
      const viewer = viewerOf(ctx);
      const next = safeNext(String(ctx.query['next'] ?? ''));
      if (viewer) return ctx.redirect(next ?? `/users/${viewer.account.name}`);
      signIn(ctx, { ...(next ? { next } : {}), notices: noticeOf(ctx) });
    }),
  );

  router.post(
    '/login',
    page(async (ctx) => {
      const form = await readForm(ctx);
      const username = (form.get('username') ?? '').trim();
      const next = safeNext(form.get('next'));
      const again = (text: string, status: number) =>
        signIn(
          ctx,
          { username, ...(next ? { next } : {}), notices: [{ kind: 'error', text }] },
          status,
        );
      if (!csrfTokenMatches(form.get('_csrf') ?? undefined, ctx.cookies.get(SIGN_IN_CSRF_COOKIE))) {
        return again('The sign-in form expired. Please try again.', 403);
      }
      if (username === '' || (form.get('password') ?? '') === '')
        return again('Enter your username and password.', 400);
      let account;
      try {
        account = await services.authenticator.verifyPassword(
          ctx,
          username,
          form.get('password') ?? '',
        );
      } catch (error) {
        if (!(error instanceof RegistryError) || error.code !== 'TOOMANYREQUESTS') throw error;
        ctx.set('Retry-After', error.headers['Retry-After'] ?? '1');
        return again(
          `Too many failed sign-ins. Try again in ${error.headers['Retry-After'] ?? '1'} seconds.`,
          429,
        );
      }
      if (!account) {
        services.logger.info('web sign-in refused', { username });
        return again('Incorrect username or password.', 401);
      }
      const { token, session } = await services.sessions.create(account);
      ctx.cookies.set(SESSION_COOKIE, token, {
        httpOnly: true,
        sameSite: 'lax',
        secure: ctx.secure,
        path: '/',
        expires: session.expiresAt,
        overwrite: true,
      });
      ctx.cookies.set(SIGN_IN_CSRF_COOKIE, null, { path: '/login' });
      services.logger.info('web sign-in', { username: account.name });
      ctx.redirect(next ?? `/users/${account.name}`);
    }),
  );

  router.post(
    '/logout',
    page(async (ctx) => {
      const viewer = viewerOf(ctx);
      const { credentials } = authenticationOf(ctx);
      if (viewer && credentials.kind === 'session') {
        checkCsrf(viewer, await readForm(ctx));
        await services.sessions.delete(credentials.token);
      }
      ctx.cookies.set(SESSION_COOKIE, null, { path: '/' });
      ctx.redirect('/login?notice=signed-out');
    }),
  );

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
      await showSettings(ctx, viewer, user, noticeOf(ctx));
    }),
  );

  router.post(
    '/users/:name/settings',
    page(async (ctx) => {
      const submitted = await signedInForm(ctx);
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

  router.get(
    '/admin/content-caches',
    page(async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return;
      requireAdmin(viewer);
      show(
        ctx,
        contentCachesPage({ viewer, caches: await cacheViews(services), notices: noticeOf(ctx) }),
      );
    }),
  );

  router.post(
    '/admin/content-caches',
    page(async (ctx) => {
      const submitted = await signedInForm(ctx);
      if (!submitted) return;
      const { viewer, form } = submitted;
      requireAdmin(viewer);
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
      const submitted = await signedInForm(ctx);
      if (!submitted) return;
      const { viewer } = submitted;
      requireAdmin(viewer);
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

  return router;
}

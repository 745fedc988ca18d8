import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { csrfTokenMatches, SESSION_COOKIE } from '../auth/authenticate';
import { authenticationOf } from '../registry/registry-access';
import { isSecure } from '../request-context';
import { faviconIco } from './favicon';
import { noticeOf, type PageKit, readForm, safeNext, show } from './page-kit';
import { type Notice, signInPage } from './ui-pages';
import { UI_STYLESHEET } from './ui-style';

/** Cookie of the sign-in form's CSRF token (double submit: cookie and hidden field must match). */
const SIGN_IN_CSRF_COOKIE = 'dtr_signin_csrf';

const NOTICES: Readonly<Record<string, Notice>> = {
  'signed-out': { kind: 'ok', text: 'You have signed out.' },
  'session-expired': { kind: 'error', text: 'Please sign in to continue.' },
};

/** Where a signed-in user lands: the repositories they can see. */
export function homePath(): string {
  return '/repositories';
}

/** The stylesheet, the icon, the root, and signing in and out (a session cookie). */
export function sessionRoutes(kit: PageKit): void {
  const { router, services, page, viewerOf } = kit;
  const favicon = faviconIco();

  router.get(
    '/ui/style.css',
    page((ctx) => {
      ctx.type = 'text/css; charset=utf-8';
      ctx.set('Cache-Control', 'max-age=300');
      ctx.body = UI_STYLESHEET;
    }),
  );

  router.get('/favicon.ico', (ctx) => {
    ctx.type = 'image/x-icon';
    ctx.set('Cache-Control', 'max-age=86400');
    ctx.body = favicon;
  });

  router.get(
    '/',
    page((ctx) => {
      const viewer = viewerOf(ctx);
      ctx.redirect(viewer ? homePath() : '/login');
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
      secure: isSecure(ctx),
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
      if (viewer) return ctx.redirect(next ?? homePath());
      signIn(ctx, { ...(next ? { next } : {}), notices: noticeOf(ctx, NOTICES) });
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
        secure: isSecure(ctx),
        path: '/',
        expires: session.expiresAt,
        overwrite: true,
      });
      ctx.cookies.set(SIGN_IN_CSRF_COOKIE, null, { path: '/login' });
      services.logger.info('web sign-in', { username: account.name });
      ctx.redirect(next ?? homePath());
    }),
  );

  router.post(
    '/logout',
    page(async (ctx) => {
      const viewer = viewerOf(ctx);
      const { credentials } = authenticationOf(ctx);
      if (viewer && credentials.kind === 'session') {
        kit.checkCsrf(viewer, await readForm(ctx));
        await services.sessions.delete(credentials.token);
      }
      ctx.cookies.set(SESSION_COOKIE, null, { path: '/' });
      ctx.redirect('/login?notice=signed-out');
    }),
  );
}

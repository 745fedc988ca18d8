import type Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { csrfTokenMatches, SESSION_COOKIE } from '../auth/authenticate';
import { readSmallBody } from '../read-body';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import { errorPage, type Notice, type Viewer } from './ui-pages';

/** A refusal shown as an HTML page (the API's errors use the JSON envelope instead). */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a URL-encoded form of at most 64 KiB; throws {@link PageError} 415 for another type. */
export async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded'))
    throw new PageError(415, 'Unsupported form', 'The form must be sent URL-encoded.');
  return new URLSearchParams((await readSmallBody(ctx.req, 64 * 1024)).toString('utf8'));
}

/** Only paths of this site: "/x", never "//host" or an absolute URL. */
export function safeNext(value: string | null | undefined): string | undefined {
  return value && /^\/(?![/\\])/.test(value) ? value : undefined;
}

/** The notice `?notice=` names among `known` (fixed texts: never text from the URL itself). */
export function noticeOf(ctx: Context, known: Readonly<Record<string, Notice>>): Notice[] {
  const key = String(ctx.query['notice'] ?? '');
  const notice = Object.hasOwn(known, key) ? known[key] : undefined;
  return notice ? [notice] : [];
}

/** Renders `page` (HTML) with `status`, never cached. */
export function show(ctx: Context, page: string, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = page;
}

/** What every group of UI routes uses: who is signed in, forms with CSRF, refusals as pages. */
export interface PageKit {
  readonly services: DtrServices;
  readonly router: Router;
  /** Wraps a handler: a {@link PageError} (or a too-large form) becomes an HTML error page. */
  page(handler: (ctx: Context) => Promise<void> | void): (ctx: Context) => Promise<void>;
  /** The viewer signed in with a session cookie, if any. */
  viewerOf(ctx: Context): Viewer | undefined;
  /** The signed-in viewer; otherwise redirects to the sign-in page and returns undefined. */
  requireViewer(ctx: Context): Viewer | undefined;
  /** A form posted by the signed-in viewer with the session's CSRF token (else as requireViewer). */
  signedInForm(ctx: Context): Promise<{ viewer: Viewer; form: URLSearchParams } | undefined>;
  /** Throws {@link PageError} 403 unless the viewer is an administrator; `what` ends the sentence. */
  requireAdmin(viewer: Viewer, what: string): void;
  /** Throws {@link PageError} 403 unless `form` carries the viewer's CSRF token. */
  checkCsrf(viewer: Viewer, form: URLSearchParams): void;
}

/** The {@link PageKit} of `router` for `services`. */
export function pageKit(services: DtrServices, router: Router): PageKit {
  const viewerOf = (ctx: Context): Viewer | undefined => {
    const { principal, credentials } = authenticationOf(ctx);
    if (principal.kind !== 'user' || credentials.kind !== 'session') return undefined;
    return { account: principal.account, csrfToken: credentials.csrfToken };
  };

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

  const checkCsrf = (viewer: Viewer, form: URLSearchParams): void => {
    if (!csrfTokenMatches(form.get('_csrf') ?? undefined, viewer.csrfToken)) {
      throw new PageError(
        403,
        'Request refused',
        'This form has expired or did not come from this site. Reload the page and try again.',
      );
    }
  };

  return {
    services,
    router,
    page: (handler) => async (ctx) => {
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
    },
    viewerOf,
    requireViewer,
    checkCsrf,
    signedInForm: async (ctx) => {
      const viewer = requireViewer(ctx);
      if (!viewer) return undefined;
      const form = await readForm(ctx);
      checkCsrf(viewer, form);
      return { viewer, form };
    },
    requireAdmin: (viewer, what) => {
      if (!viewer.account.isAdmin)
        throw new PageError(403, 'Administrators only', `Only administrators ${what}.`);
    },
  };
}

import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { type Authentication, CSRF_HEADER, csrfTokenMatches } from './authenticate';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The one CSRF rule for every request a signed-in browser makes (its session cookie is sent along
 * whatever page caused the request). A state-changing request authenticated by the cookie must
 * prove it came from DTR's own pages: with the session's token in the `X-CSRF-Token` header — on
 * every path, however it is written (case, slashes, encoding), so no spelling of an API path
 * slips past — unless the route it matches is one of the web UI's forms, which check the token in
 * the form itself. The decision rests on the route the request matches, never on the raw path.
 * @param isFormRoute whether the request matches a web UI form route.
 * @throws RegistryError `DENIED` without a valid token.
 */
export function checkCsrf(
  ctx: Context,
  auth: Authentication,
  isFormRoute: (ctx: Context) => boolean,
): void {
  const { credentials } = auth;
  if (credentials.kind !== 'session' || SAFE_METHODS.has(ctx.method) || isFormRoute(ctx)) return;
  if (!csrfTokenMatches(ctx.get(CSRF_HEADER), credentials.csrfToken))
    throw new RegistryError('DENIED', `a signed-in browser must send the ${CSRF_HEADER} header`);
}

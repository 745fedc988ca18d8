import type { Context, Middleware } from 'koa';
import {
  REPRESENTATION_HEADERS,
  RegistryError,
  registryErrorResponse,
  toRegistryError,
} from '@dtr-cache/registry-protocol';

/** Options of {@link registryErrorMiddleware}. */
export interface ErrorMiddlewareOptions {
  /**
   * Called for every error that is not a {@link RegistryError} (a bug or an I/O failure): it is
   * rendered as `UNKNOWN` (500) without details, so log it here.
   */
  onUnexpectedError?: (error: unknown, ctx: Context) => void;
  /**
   * Gives an error that is not a {@link RegistryError} its registry error, when it is a known
   * condition rather than a bug (a database that does not answer is `UNAVAILABLE`, 503).
   */
  classify?: (error: unknown, ctx: Context) => RegistryError | undefined;
}

/**
 * The Koa adapter of the registry's error rendering ({@link registryErrorResponse}): every error
 * becomes the JSON error envelope with the status of its code and no body on HEAD. Headers set for
 * every response (API version, `http.headers`) are kept; those of the content the request was
 * about to get are removed. A request no route answered renders as `NOT_FOUND`. An error raised
 * after the response headers were sent cannot be rendered: the connection is destroyed so the
 * client sees an aborted body, never a complete-looking one.
 */
export function registryErrorMiddleware(options: ErrorMiddlewareOptions = {}): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        throw new RegistryError('NOT_FOUND', undefined, { detail: { path: ctx.path } });
      }
    } catch (thrown) {
      const error =
        (thrown instanceof RegistryError ? undefined : options.classify?.(thrown, ctx)) ??
        toRegistryError(thrown);
      if (error.code === 'UNKNOWN') options.onUnexpectedError?.(error.cause, ctx);
      if (ctx.headerSent || !ctx.writable) {
        ctx.req.socket.destroy();
        return;
      }
      const response = registryErrorResponse(error);
      for (const name of REPRESENTATION_HEADERS) ctx.remove(name);
      ctx.status = response.status;
      ctx.set(response.headers);
      // On HEAD, Koa sends the headers (with this body's length) but never the body.
      ctx.body = response.body;
    }
  };
}

/**
 * Sets the headers of the registry's `http.headers` configuration on every response, including
 * error responses (install it before the error middleware).
 */
export function configuredHeaders(
  headers: Readonly<Record<string, readonly string[]>>,
): Middleware {
  const entries = Object.entries(headers);
  return async (ctx, next) => {
    for (const [name, values] of entries) ctx.set(name, [...values]);
    await next();
  };
}

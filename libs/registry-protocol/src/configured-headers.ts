import type { Middleware } from 'koa';

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

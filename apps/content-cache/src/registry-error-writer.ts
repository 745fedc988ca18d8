import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import {
  REPRESENTATION_HEADERS,
  RegistryError,
  registryErrorResponse,
  toRegistryError,
} from '@dtr-cache/registry-protocol';

/** Called with the cause of an error that is not a registry error (a bug, an I/O failure). */
export type UnexpectedErrorHandler = (error: unknown, request: IncomingMessage) => void;

/**
 * Writes anything thrown as the registry's JSON error envelope ({@link registryErrorResponse}) on
 * Node's response: the status of its code, no body on HEAD. Headers already set (`http.headers`,
 * the API version) are kept; those of the content the request was about to get are removed. An
 * unexpected error is rendered as `UNKNOWN` and handed to `onUnexpected`. If the head was sent
 * already, nothing can be rendered: the connection is destroyed, so the client sees an aborted
 * body, never a complete-looking one.
 */
export function writeRegistryError(
  request: IncomingMessage,
  response: ServerResponse,
  thrown: unknown,
  onUnexpected: UnexpectedErrorHandler,
): void {
  const error = toRegistryError(thrown);
  if (error.code === 'UNKNOWN') onUnexpected(error.cause, request);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const rendered = registryErrorResponse(error);
  for (const name of REPRESENTATION_HEADERS) response.removeHeader(name);
  response.writeHead(rendered.status, {
    ...rendered.headers,
    'Content-Length': Buffer.byteLength(rendered.body),
  });
  response.end(request.method === 'HEAD' ? undefined : rendered.body);
}

/**
 * The Koa adapter of {@link writeRegistryError}, for the cache's few Koa routes: every error, and
 * a request no route answered (`NOT_FOUND`), is written by it.
 */
export function registryErrors(onUnexpected: UnexpectedErrorHandler): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null)
        throw new RegistryError('NOT_FOUND', undefined, { detail: { path: ctx.path } });
    } catch (thrown) {
      ctx.respond = false;
      writeRegistryError(ctx.req, ctx.res, thrown, onUnexpected);
    }
  };
}

import type { Context, Middleware } from 'koa';
import { ERROR_CODES, type ErrorCode } from './error-codes';
import { Headers } from './headers';
import { errorEnvelope, RegistryError } from './registry-error';

/** Options of {@link registryErrorMiddleware}. */
export interface ErrorMiddlewareOptions {
  /**
   * Called for every error that is not a {@link RegistryError} (a bug or an I/O failure): it is
   * rendered as `UNKNOWN` (500) without details, so log it here.
   */
  onUnexpectedError?: (error: unknown, ctx: Context) => void;
  /** Headers set on every error response, e.g. the API version header. */
  headers?: Record<string, string>;
}

const STATUS_CODES: ReadonlyArray<[number, ErrorCode]> = [
  [400, 'INVALID_REQUEST'],
  [401, 'UNAUTHORIZED'],
  [403, 'DENIED'],
  [404, 'NOT_FOUND'],
  [405, 'UNSUPPORTED'],
  [409, 'CONFLICT'],
  [413, 'TOO_LARGE'],
  [415, 'UNSUPPORTED_MEDIA_TYPE'],
  [416, 'RANGE_INVALID'],
  [429, 'TOOMANYREQUESTS'],
  [503, 'UNAVAILABLE'],
];

/**
 * Converts anything thrown into a {@link RegistryError}: registry errors pass through; HTTP errors
 * raised by Koa or its middleware (`ctx.throw(413)`, body parsers) map to the code of their status,
 * keeping their message only when it is safe to expose; anything else becomes `UNKNOWN`.
 */
export function toRegistryError(error: unknown): RegistryError {
  if (error instanceof RegistryError) return error;
  const httpError = error as { status?: unknown; expose?: unknown; message?: unknown } | null;
  if (typeof httpError === 'object' && httpError !== null && typeof httpError.status === 'number') {
    const code = STATUS_CODES.find(([status]) => status === httpError.status)?.[1];
    if (code) {
      const message =
        httpError.expose === true && typeof httpError.message === 'string'
          ? httpError.message
          : ERROR_CODES[code].message;
      return new RegistryError(code, message, { cause: error });
    }
  }
  return new RegistryError('UNKNOWN', undefined, { cause: error });
}

/**
 * Headers describing the content a failed request was about to send: an error response must not
 * carry them (a `Cache-Control: max-age` on a 404 would let a cache keep the error for a year).
 */
const REPRESENTATION_HEADERS = [
  Headers.contentDigest,
  Headers.etag,
  Headers.acceptRanges,
  Headers.contentRange,
  Headers.location,
  'Cache-Control',
  'Last-Modified',
  'Content-Disposition',
];

function render(ctx: Context, error: RegistryError, extraHeaders: Record<string, string>): void {
  for (const name of REPRESENTATION_HEADERS) ctx.remove(name);
  ctx.status = error.status;
  ctx.set({ ...extraHeaders, ...error.headers });
  ctx.type = 'application/json; charset=utf-8';
  // On HEAD, Koa sends the headers (with this body's length) but never the body.
  ctx.body = errorEnvelope(error);
}

/**
 * The one Koa middleware that renders every error as the registry's JSON error envelope,
 * `{"errors":[{code,message,detail}]}`, with the status of the code and no body on HEAD. Headers
 * set for every response (API version, `http.headers`) are kept; those of the content the request
 * was about to get (digest, ETag, caching, range) are removed.
 * A request no route answered renders as `NOT_FOUND`. Errors raised after the response headers
 * were sent cannot be rendered: the connection is destroyed so the client sees an aborted body,
 * never a complete-looking one.
 */
export function registryErrorMiddleware(options: ErrorMiddlewareOptions = {}): Middleware {
  const extraHeaders = options.headers ?? {};
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        throw new RegistryError('NOT_FOUND', undefined, { detail: { path: ctx.path } });
      }
    } catch (thrown) {
      const error = toRegistryError(thrown);
      if (error.code === 'UNKNOWN') options.onUnexpectedError?.(error.cause, ctx);
      if (ctx.headerSent || !ctx.writable) {
        ctx.req.socket.destroy();
        return;
      }
      render(ctx, error, extraHeaders);
    }
  };
}

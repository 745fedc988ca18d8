import { ERROR_CODES, type ErrorCode } from './error-codes';
import { Headers } from './headers';
import { errorEnvelope, RegistryError } from './registry-error';

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
 * (objects with a numeric `status`, as web frameworks and body parsers raise them) map to the code
 * of their status, keeping their message only when `expose` says it is safe; anything else becomes
 * `UNKNOWN` with the original as its `cause` (to be logged, never sent).
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
 * A transport removes them before it writes an error.
 */
export const REPRESENTATION_HEADERS: readonly string[] = [
  Headers.contentDigest,
  Headers.etag,
  Headers.acceptRanges,
  Headers.contentRange,
  Headers.location,
  'Cache-Control',
  'Last-Modified',
  'Content-Disposition',
];

/** An error as a response, for any transport to write. */
export interface RegistryErrorResponse {
  /** The status of the error's code (the error table). */
  readonly status: number;
  /** `Content-Type` and the headers the error carries (e.g. `WWW-Authenticate`, `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON error envelope, `{"errors":[{code,message,detail}]}` (not sent on HEAD). */
  readonly body: string;
}

/**
 * The response of a registry error: the status of its code, its headers and the JSON envelope.
 * Transport-neutral: a Koa middleware, a Node `ServerResponse` writer or a test renders it the
 * same way (removing {@link REPRESENTATION_HEADERS} first, and sending no body on HEAD).
 */
export function registryErrorResponse(error: RegistryError): RegistryErrorResponse {
  return {
    status: error.status,
    headers: { ...error.headers, 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify(errorEnvelope(error)),
  };
}

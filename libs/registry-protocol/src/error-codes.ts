/** One row of the error-code table: the HTTP status and default message of an error code. */
export interface ErrorCodeDescriptor {
  readonly status: number;
  readonly message: string;
}

/**
 * Every error code either side may put in the JSON error envelope, with its HTTP status.
 *
 * The first block is the distribution specification's table (statuses as the reference registry,
 * CNCF distribution, sends them, so clients see the same answers from both). The second block holds
 * the distribution codes the spec leaves out, and the last the codes of the `/api/v0` JSON API.
 * The status of an error always comes from this table, never from the place that throws it.
 */
export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 404, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },

  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  UNKNOWN: { status: 500, message: 'unknown error' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },

  INVALID_REQUEST: { status: 400, message: 'invalid request' },
  NOT_FOUND: { status: 404, message: 'not found' },
  CONFLICT: { status: 409, message: 'conflict' },
  TOO_LARGE: { status: 413, message: 'request entity too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported media type' },
} as const satisfies Record<string, ErrorCodeDescriptor>;

/** A code of the error-code table. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** True if `code` is a code of the table (for parsing envelopes received from a peer). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The HTTP status the table assigns to `code`. */
export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

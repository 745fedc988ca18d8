import { ERROR_CODES, type ErrorCode, isErrorCode } from './error-codes';

/** One entry of the JSON error envelope. */
export interface ErrorEnvelopeEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** The registry's JSON error envelope: `{"errors":[{code,message,detail}]}`. */
export interface ErrorEnvelope {
  errors: ErrorEnvelopeEntry[];
}

/** Options of a {@link RegistryError}. */
export interface RegistryErrorOptions {
  /** Machine-readable detail rendered in the envelope (keep it free of secrets). */
  detail?: unknown;
  /** Response headers the error needs, e.g. `WWW-Authenticate` or `Content-Range`. */
  headers?: Record<string, string>;
  /** The underlying error, kept for logs and never rendered. */
  cause?: unknown;
}

/**
 * An error that is rendered to clients as the registry's JSON error envelope. The HTTP status comes
 * from the code ({@link ERROR_CODES}); `message` defaults to the code's message.
 */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message?: string, options: RegistryErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  /** The HTTP status of this error's code. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** This error as one entry of the envelope. */
  toJSON(): ErrorEnvelopeEntry {
    const entry: ErrorEnvelopeEntry = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return entry;
  }
}

/** Builds the envelope for one or more errors. */
export function errorEnvelope(...errors: RegistryError[]): ErrorEnvelope {
  return { errors: errors.map((error) => error.toJSON()) };
}

/**
 * Reads a peer's error envelope back into a {@link RegistryError} (the first entry), or returns
 * undefined when `body` is not an envelope. Unknown codes become `UNKNOWN`.
 */
export function parseErrorEnvelope(body: unknown): RegistryError | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const first = errors[0] as Partial<ErrorEnvelopeEntry> | null;
  if (typeof first !== 'object' || first === null || typeof first.code !== 'string') {
    return undefined;
  }
  const code = isErrorCode(first.code) ? first.code : 'UNKNOWN';
  const message = typeof first.message === 'string' ? first.message : undefined;
  return new RegistryError(code, message, { detail: first.detail });
}

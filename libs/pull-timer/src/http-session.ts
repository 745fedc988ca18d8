import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { PullError } from './pull-error';

/** Options of an {@link HttpSession}. */
export interface HttpSessionOptions {
  /** PEM CAs trusted besides Node's defaults. */
  readonly ca?: readonly (string | Buffer)[] | undefined;
  /** A request that makes no progress (connect, answer, body bytes) for this long fails, ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** An answer's head, and how to name a failure while its body is read. */
export interface SessionAnswer {
  readonly url: URL;
  readonly response: IncomingMessage;
  /** A body read error as the {@link PullError} to throw (timeout, cancel or connection). */
  failure(error: unknown): PullError;
}

/** `scheme://host[:port]` and a path prefix before `/v2/`: the server a URL is on. */
export function baseUrlOf(url: URL): string {
  const v2 = url.pathname.indexOf('/v2/');
  return `${url.origin}${v2 > 0 ? url.pathname.slice(0, v2) : ''}`;
}

/** A base URL as registered ones are written: `scheme://host[:port][/path]`, no trailing slash. */
export function normalizeBaseUrl(text: string): string {
  const url = new URL(text);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Why a connection failed, in a few words (the error's code where Node gives one). */
function describeConnectionError(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' && message !== '' ? message : String(error);
  if (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|ERR_TLS/.test(code))
    return `TLS: ${text} (is its CA trusted?)`;
  return text;
}

/** How many times a GET is sent again after its kept-alive connection turned out closed. */
const STALE_RETRIES = 2;

/** How a request fails on a kept-alive connection its server closed as it was sent. */
const STALE_CONNECTION_ERRORS = new Set(['ECONNRESET', 'EPIPE']);

/**
 * HTTP(S) GETs with keep-alive connections per origin (as docker keeps them), an inactivity
 * timeout and cancellation; every failure is a {@link PullError}. {@link close} ends the pooled
 * connections.
 */
export class HttpSession {
  private readonly http = new HttpAgent({ keepAlive: true });
  private readonly https: HttpsAgent;

  constructor(private readonly options: HttpSessionOptions) {
    this.https = new HttpsAgent({
      keepAlive: true,
      ...(options.ca && options.ca.length > 0 ? { ca: [...rootCertificates, ...options.ca] } : {}),
    });
  }

  /**
   * Sends `GET url` and resolves with the answer's head; the caller reads or discards the body.
   * A GET that fails before any answer on a kept-alive connection its server closed as it was
   * sent is sent again on another connection (as Go's HTTP client, docker's, does), twice at most.
   * @throws PullError `unreachable` (connection, DNS, TLS, timeout, cancelled) naming the server.
   */
  get(
    url: URL,
    headers: Readonly<Record<string, string>> = {},
    retries = STALE_RETRIES,
  ): Promise<SessionAnswer> {
    const { timeoutMs, signal } = this.options;
    let timedOut = false;
    const failure = (error: unknown): PullError => {
      if (error instanceof PullError) return error;
      const server = baseUrlOf(url);
      if (signal?.aborted)
        return new PullError('unreachable', 'the pull was cancelled', { cause: error });
      const reason = timedOut
        ? `no progress for ${timeoutMs / 1000} s`
        : describeConnectionError(error);
      return new PullError('unreachable', `${server} is unreachable: ${reason}`, { cause: error });
    };
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(failure(signal.reason));
        return;
      }
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') {
        reject(new PullError('invalid', `not an http or https URL: ${url.href}`));
        return;
      }
      const outgoing = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: 'GET',
          agent: secure ? this.https : this.http,
          headers,
          timeout: timeoutMs,
          ...(signal ? { signal } : {}),
        },
        (response) => resolve({ url, response, failure }),
      );
      outgoing.on('timeout', () => {
        timedOut = true;
        outgoing.destroy(new Error(`no progress for ${timeoutMs} ms`));
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        const stale = outgoing.reusedSocket && STALE_CONNECTION_ERRORS.has(error.code ?? '');
        if (stale && retries > 0 && !timedOut && !signal?.aborted)
          resolve(this.get(url, headers, retries - 1));
        else reject(failure(error));
      });
      outgoing.end();
    });
  }

  /**
   * Reads a small body (manifests, tokens, error envelopes) up to `limit` bytes.
   * @throws PullError `invalid` for a longer body, `unreachable` if reading fails.
   */
  async readBody(answer: SessionAnswer, limit: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of answer.response as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) {
          answer.response.destroy();
          throw new PullError(
            'invalid',
            `${answer.url.href} sent more than ${limit} bytes where a small JSON answer belongs`,
          );
        }
        chunks.push(chunk);
      }
    } catch (error) {
      throw answer.failure(error);
    }
    return Buffer.concat(chunks);
  }

  /** Ends every pooled connection. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

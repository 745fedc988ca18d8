import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type ErrorCode, parseErrorEnvelope } from '@dtr-cache/registry-protocol';
import { type Answer, answerOf } from '@dtr-cache/test-support';

/** How a request of {@link HttpClient} is sent. */
export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** How long the connection may stay silent (default 30 s): past it the request fails. */
  readonly timeoutMs?: number;
}

/** A request whose body is still being sent (see {@link HttpClient.open}). */
export interface OpenRequest {
  /** Sends part of the body; resolves once it was handed to the connection. */
  write(chunk: Buffer): Promise<void>;
  /** Sends `rest` (if any), ends the body and resolves with the answer. */
  end(rest?: Buffer): Promise<Answer>;
  /** The answer; rejects on a connection error (the server died under the request, …). */
  readonly answer: Promise<Answer>;
}

/**
 * HTTP(S) requests with the headers a registry client sends, trusting the topology's CAs, one
 * connection each (no connection of a killed replica is ever reused).
 */
export class HttpClient {
  constructor(private readonly ca: readonly Buffer[]) {}

  /**
   * Starts a request and leaves its body open, to be streamed with `write` and `end`.
   * @throws nothing itself: connection errors and timeouts reject `answer` (and `write`/`end`).
   */
  open(url: string, options: RequestOptions = {}): OpenRequest {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const outgoing = send(url, {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      ca: [...this.ca],
      agent: false,
    });
    const answer = new Promise<Answer>((resolve, reject) => {
      outgoing.on('response', (incoming) => resolve(answerOf(incoming)));
      outgoing.on('error', reject);
    });
    // The caller awaits `answer` (or `end`); a rejection is never left unhandled meanwhile.
    answer.catch(() => undefined);
    outgoing.setTimeout(options.timeoutMs ?? 30_000, () =>
      outgoing.destroy(new Error(`no answer within ${options.timeoutMs ?? 30_000} ms`)),
    );
    const write = (chunk: Buffer) =>
      new Promise<void>((resolve, reject) => {
        outgoing.write(chunk, (error) => (error ? reject(error) : resolve()));
      });
    return {
      write: (chunk) => Promise.race([write(chunk), answer.then(() => undefined)]),
      end: async (rest) => {
        outgoing.end(rest);
        return answer;
      },
      answer,
    };
  }

  /**
   * One request with its whole body.
   * @throws Error on a connection error or timeout (an answer of any status resolves).
   */
  send(url: string, options: RequestOptions & { body?: Buffer | string } = {}): Promise<Answer> {
    const { body, ...rest } = options;
    return this.open(url, rest).end(body === undefined ? undefined : Buffer.from(body));
  }
}

/** The registry error code of an answer's JSON envelope, if it has one. */
export function errorCodeOf(answer: Answer): ErrorCode | undefined {
  try {
    return parseErrorEnvelope(JSON.parse(answer.body.toString()))?.code;
  } catch {
    return undefined;
  }
}

/** One header of an answer as a string ('' when absent). */
export const headerOf = (answer: Answer, name: string): string => {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

import { STATUS_CODES } from 'node:http';
import { Headers, parseBearerChallenge, parseErrorEnvelope } from '@dtr-cache/registry-protocol';
import { type HttpSession, type SessionAnswer } from './http-session';
import { PullError, type PullFailure } from './pull-error';

/** Longest error body read to name a failure. */
const ERROR_BODY_LIMIT = 64 * 1024;

/** A refusal as a server sent it: status, envelope code (if any) and a readable text. */
export interface ErrorAnswer {
  readonly status: number;
  /** The first envelope entry's code, or undefined when the body was no envelope. */
  readonly code: string | undefined;
  /** The Bearer challenge's `error` (e.g. `insufficient_scope`), if any. */
  readonly challengeError: string | undefined;
  /** e.g. `404 MANIFEST_UNKNOWN: manifest unknown` or `502 Bad Gateway`. */
  readonly text: string;
}

/**
 * Reads a non-success answer's body and names it.
 * @throws PullError `unreachable` if the body cannot be read.
 */
export async function readErrorAnswer(
  session: HttpSession,
  answer: SessionAnswer,
): Promise<ErrorAnswer> {
  const status = answer.response.statusCode ?? 0;
  const body = await session.readBody(answer, ERROR_BODY_LIMIT).catch((error: unknown) => {
    if (error instanceof PullError && error.failure === 'invalid') return Buffer.alloc(0);
    throw error;
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const envelope = parseErrorEnvelope(parsed);
  const challenge = answer.response.headers[Headers.wwwAuthenticate.toLowerCase()];
  const text = envelope
    ? `${status} ${envelope.code}: ${envelope.message}`
    : `${status} ${STATUS_CODES[status] ?? 'answer'}`;
  return {
    status,
    code: envelope?.code,
    challengeError:
      typeof challenge === 'string' ? parseBearerChallenge(challenge)?.error : undefined,
    text,
  };
}

/** The failure kind a status means when nothing more specific applies. */
export function failureOfStatus(status: number): PullFailure {
  if (status === 401) return 'credentials';
  if (status === 403) return 'denied';
  if (status === 404) return 'not-found';
  if (status === 429 || status >= 500) return 'unreachable';
  return 'invalid';
}

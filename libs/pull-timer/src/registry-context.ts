import { Headers } from '@dtr-cache/registry-protocol';
import { type ErrorAnswer, failureOfStatus } from './error-answer';
import type { HttpSession } from './http-session';
import { PullError } from './pull-error';

/** What every registry request of one pull shares. */
export interface RegistryContext {
  readonly session: HttpSession;
  /** DTR's base URL. */
  readonly dtr: string;
  readonly username: string;
  readonly repository: string;
  /** The `Authorization` value for DTR (never sent to another server). */
  readonly authorization: string | undefined;
}

/** The `Authorization` header for DTR, if there is one. */
export function authorizationHeaders(context: RegistryContext): Record<string, string> {
  return context.authorization === undefined
    ? {}
    : { [Headers.authorization]: context.authorization };
}

/** DTR's refusal of a manifest or blob request of the pull, as the error to throw. */
export function registryRefusal(
  context: RegistryContext,
  what: string,
  refusal: ErrorAnswer,
): PullError {
  if (refusal.status === 401 && refusal.challengeError !== 'invalid_token')
    return new PullError(
      'denied',
      `${context.username} may not pull ${context.repository} at ${context.dtr} (or it does not exist): ${refusal.text}`,
    );
  return new PullError(
    failureOfStatus(refusal.status),
    `DTR ${context.dtr} refused ${what}: ${refusal.text}`,
  );
}

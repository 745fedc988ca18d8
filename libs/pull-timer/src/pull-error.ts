/** Why a pull failed, for one clear line: the kind, and a message that names what to fix. */
export type PullFailure =
  | 'credentials' // 401 from the token service or the registry with these credentials
  | 'denied' // 403 / no pull access
  | 'not-found' // repository, tag or blob unknown
  | 'unreachable' // connection refused/reset, DNS, TLS failure, timeout; names the host
  | 'route' // DTR refused the route (unknown cache, no healthy member, not a member)
  | 'invalid'; // the answer was not a registry answer, or a blob did not match its digest

/** A failed pull: {@link PullFailure} and a one-line message naming what failed. */
export class PullError extends Error {
  constructor(
    readonly failure: PullFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PullError';
  }
}

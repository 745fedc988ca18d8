import {
  Headers,
  formatAccessScope,
  parseAuthChallenges,
  registryPaths,
  resolveRegistryUrl,
} from '@dtr-cache/registry-protocol';
import { failureOfStatus, readErrorAnswer } from './error-answer';
import type { HttpSession } from './http-session';
import { PullError } from './pull-error';

/** Longest token answer read. */
const TOKEN_BODY_LIMIT = 256 * 1024;

/** Who pulls, and from which DTR. */
export interface Credentials {
  readonly dtr: string;
  readonly username: string;
  readonly password: string;
}

const basicOf = (credentials: Credentials) =>
  `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;

/**
 * The `Authorization` value for DTR's registry requests to pull `repository`, as docker gets it:
 * `GET /v2/` without credentials, then on its Bearer challenge a token from the challenge's realm
 * (HTTP Basic credentials, the challenge's service, `repository:<name>:pull`); on a Basic
 * challenge the credentials themselves; undefined when DTR asks for none.
 * @throws PullError `credentials` for credentials the token service refuses, else as the answer
 *   says (`unreachable`, `invalid`, …).
 */
export async function registryAuthorization(
  session: HttpSession,
  credentials: Credentials,
  repository: string,
): Promise<string | undefined> {
  const ping = await session.get(resolveRegistryUrl(credentials.dtr, registryPaths.base()));
  const status = ping.response.statusCode ?? 0;
  if (status === 200) {
    ping.response.resume();
    return undefined;
  }
  const header = ping.response.headers[Headers.wwwAuthenticate.toLowerCase()];
  if (status !== 401 || typeof header !== 'string') {
    const refusal = await readErrorAnswer(session, ping);
    throw new PullError(
      status === 401 ? 'invalid' : failureOfStatus(status),
      `${credentials.dtr} is not a registry that answers GET /v2/ (${refusal.text})`,
    );
  }
  ping.response.resume();
  const challenges = parseAuthChallenges(header);
  const bearer = challenges.find((challenge) => challenge.scheme === 'bearer');
  const realm = bearer?.params['realm'];
  if (realm === undefined) {
    if (challenges.some((challenge) => challenge.scheme === 'basic')) return basicOf(credentials);
    throw new PullError(
      'invalid',
      `${credentials.dtr} asks for an unknown authentication: ${header}`,
    );
  }
  return `Bearer ${await fetchToken(session, credentials, new URL(realm, credentials.dtr), {
    service: bearer?.params['service'],
    scope: formatAccessScope({ type: 'repository', name: repository, actions: ['pull'] }),
  })}`;
}

/** A token from the token service at `realm`. */
async function fetchToken(
  session: HttpSession,
  credentials: Credentials,
  realm: URL,
  query: { service: string | undefined; scope: string },
): Promise<string> {
  const url = new URL(realm);
  if (query.service !== undefined) url.searchParams.set('service', query.service);
  url.searchParams.set('scope', query.scope);
  const answer = await session.get(url, { [Headers.authorization]: basicOf(credentials) });
  const status = answer.response.statusCode ?? 0;
  if (status !== 200) {
    const refusal = await readErrorAnswer(session, answer);
    if (status === 401)
      throw new PullError(
        'credentials',
        `wrong credentials for ${credentials.username} at ${credentials.dtr}`,
      );
    if (status === 429)
      throw new PullError(
        'credentials',
        `too many failed sign-ins for ${credentials.username} at ${credentials.dtr}, wait and retry (${refusal.text})`,
      );
    throw new PullError(
      failureOfStatus(status),
      `the token service ${realm.origin}${realm.pathname} refused ${credentials.username}: ${refusal.text}`,
    );
  }
  const body = await session.readBody(answer, TOKEN_BODY_LIMIT);
  let token: unknown;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
    token = parsed.token ?? parsed.access_token;
  } catch {
    token = undefined;
  }
  if (typeof token !== 'string' || token === '')
    throw new PullError(
      'invalid',
      `the token service ${realm.origin}${realm.pathname} sent no token`,
    );
  return token;
}

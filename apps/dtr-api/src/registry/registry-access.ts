import type { Context } from 'koa';
import {
  type AccessScope,
  type Digest,
  formatAccessScope,
  Headers,
  RegistryError,
} from '@dtr-cache/registry-protocol';
import type { Principal } from '../auth/access-policy';
import type { Authentication } from '../auth/authenticate';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import type { Repository } from '../store/repository-store';

export type RegistryAction = 'pull' | 'push' | 'delete';

/** The authentication middleware's result, kept in `ctx.state.auth`. */
export function authenticationOf(ctx: Context): Authentication {
  return ctx.state['auth'] as Authentication;
}

/**
 * True if the request may perform `action` on the repository called `name`: a bearer token must
 * carry it in its access claim; a password-authenticated user must pass the access policy.
 */
async function mayPerform(
  services: DtrServices,
  auth: Authentication,
  name: string,
  action: RegistryAction,
): Promise<boolean> {
  const { credentials, principal } = auth;
  if (credentials.kind === 'bearer') {
    return credentials.access.some(
      (access) =>
        access.type === 'repository' &&
        access.name === name &&
        (access.actions.includes(action) || access.actions.includes('*')),
    );
  }
  if (credentials.kind === 'basic') {
    const repository = await services.repositories.find(name);
    if (!repository)
      return (await namespaceAllowing(services, principal, name, action)) !== undefined;
    if (action === 'pull') return services.policy.canPull(principal, repository);
    if (action === 'push') return services.policy.canPush(principal, repository);
    return services.policy.canDelete(principal, repository);
  }
  return false;
}

/** The account a repository name `namespace/name` would belong to; undefined if none. */
async function namespaceOfName(services: DtrServices, name: string) {
  const parts = name.split('/');
  return parts.length === 2 ? await services.accounts.find(parts[0] as string) : undefined;
}

/**
 * The namespace of `name`, a repository that does not exist, when `principal` may perform
 * `action` on that name there (`AccessPolicy.allowedActionsOnMissing`); else undefined.
 */
async function namespaceAllowing(
  services: DtrServices,
  principal: Principal,
  name: string,
  action: RegistryAction,
): Promise<Account | undefined> {
  const namespace = await namespaceOfName(services, name);
  const allowed = await services.policy.allowedActionsOnMissing(
    principal,
    namespace,
    [action],
    services.options.createOnPush,
  );
  return allowed.length > 0 ? namespace : undefined;
}

/**
 * Checks the request may perform `action` on `name` and returns the repository. Authorization
 * comes first, so nobody learns whether a repository they may not see exists. A push to a missing
 * repository creates it (private) when allowed. A refused bearer (or anonymous) request is
 * challenged for `action` on `name` and for `alsoChallenge` (what else the request would use).
 * @throws RegistryError `UNAUTHORIZED` (with the challenge for the needed scope) or `DENIED` for a
 *   password-authenticated user without access; `NAME_UNKNOWN` for a missing repository.
 */
export async function authorizeRepository(
  ctx: Context,
  services: DtrServices,
  name: string,
  action: RegistryAction,
  alsoChallenge: readonly AccessScope[] = [],
): Promise<Repository> {
  const auth = authenticationOf(ctx);
  if (!(await mayPerform(services, auth, name, action))) {
    if (auth.credentials.kind === 'basic')
      throw new RegistryError('DENIED', undefined, { detail: { repository: name, action } });
    // The challenge names every scope the request can use, so one token does it all.
    const scope = [{ type: 'repository', name, actions: [action] }, ...alsoChallenge]
      .map(formatAccessScope)
      .join(' ');
    throw services.authenticator.unauthorized(
      ctx,
      'authentication required',
      scope,
      auth.credentials.kind === 'bearer' ? 'insufficient_scope' : undefined,
    );
  }
  const repository = await services.repositories.find(name);
  if (repository) return repository;
  const namespace =
    action === 'push' ? await namespaceAllowing(services, auth.principal, name, 'push') : undefined;
  if (namespace) {
    try {
      return await services.repositories.create(namespace, name.split('/')[1] as string, 'private');
    } catch (error) {
      // Created by a push running at the same time (on this replica or another): use it.
      const created = await services.repositories.find(name);
      if (created && error instanceof RegistryError && error.code === 'CONFLICT') return created;
      throw error;
    }
  }
  throw new RegistryError('NAME_UNKNOWN', undefined, { detail: { name } });
}

/** True if the request may pull `name` (for cross-repository mounts, which fall back silently). */
export function mayPull(ctx: Context, services: DtrServices, name: string): Promise<boolean> {
  return mayPerform(services, authenticationOf(ctx), name, 'pull');
}

/** `201 Created` for a stored object: `Location` and `Docker-Content-Digest`, no body. */
export function answerCreated(ctx: Context, location: string, digest: Digest): void {
  ctx.status = 201;
  ctx.set(Headers.location, location);
  ctx.set(Headers.contentDigest, digest.toString());
  ctx.length = 0;
}

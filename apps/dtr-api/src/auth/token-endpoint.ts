import type { Context } from 'koa';
import {
  type AccessScope,
  parseAccessScopes,
  RegistryError,
  isValidRepositoryName,
} from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import type { Principal } from './access-policy';

/**
 * `GET /auth/token?service=&scope=…` — the token service of the registry token specification.
 * HTTP Basic credentials authenticate (none: anonymous); each requested scope is granted only as
 * far as the principal's access allows (possibly not at all). Wrong credentials get 401.
 */
export async function tokenEndpoint(
  ctx: Context,
  services: DtrServices,
  principal: Principal,
): Promise<void> {
  const service = ctx.query['service'];
  if (typeof service === 'string' && service !== services.options.service) {
    throw new RegistryError('INVALID_REQUEST', 'unknown service', {
      detail: { service, expected: services.options.service },
    });
  }
  const scopeParameters = [ctx.query['scope'] ?? []]
    .flat()
    .filter((scope): scope is string => typeof scope === 'string');
  const requested = scopeParameters.flatMap((scope) => parseAccessScopes(scope));
  const granted: AccessScope[] = [];
  for (const scope of requested) {
    const allowed = await grant(services, principal, scope);
    if (allowed.actions.length > 0) granted.push(allowed);
  }
  const token = await services.tokens.issue(
    principal.kind === 'user' ? principal.account : undefined,
    granted,
  );
  ctx.set('Cache-Control', 'no-store');
  ctx.body = {
    token,
    access_token: token,
    expires_in: services.tokens.lifetimeSeconds,
    issued_at: new Date().toISOString(),
  };
}

async function grant(
  services: DtrServices,
  principal: Principal,
  scope: AccessScope,
): Promise<AccessScope> {
  const none = { ...scope, actions: [] };
  if (scope.type === 'registry' && scope.name === 'catalog') {
    return services.policy.isAdmin(principal) ? { ...scope, actions: ['*'] } : none;
  }
  if (scope.type !== 'repository' || !isValidRepositoryName(scope.name)) return none;
  const repository = await services.repositories.find(scope.name);
  if (repository)
    return {
      ...scope,
      actions: await services.policy.allowedActions(principal, repository, scope.actions),
    };
  // A repository that does not exist (yet): its namespace's owners may learn so, and create it by
  // pushing when pushes create repositories.
  const [namespaceName, ...rest] = scope.name.split('/');
  const namespace =
    rest.length === 1 ? await services.accounts.find(namespaceName as string) : undefined;
  return {
    ...scope,
    actions: await services.policy.allowedActionsOnMissing(
      principal,
      namespace,
      scope.actions,
      services.options.createOnPush,
    ),
  };
}

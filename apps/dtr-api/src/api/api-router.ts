import Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Principal } from '../auth/access-policy';
import { hashPassword } from '../auth/password-hash';
import { readJsonObject } from '../read-body';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import type { Repository, Visibility } from '../store/repository-store';
import { contentCacheRoutes } from './content-cache-routes';

const MIN_PASSWORD_LENGTH = 8;

function accountJson(account: Account) {
  return {
    id: account.id,
    name: account.name,
    type: account.kind,
    isAdmin: account.isAdmin,
    createdAt: account.createdAt,
  };
}

function repositoryJson(repository: Repository) {
  return {
    id: repository.id,
    namespace: repository.namespace,
    namespaceType: repository.namespaceKind,
    name: repository.name,
    fullName: repository.fullName,
    visibility: repository.visibility,
    createdAt: repository.createdAt,
  };
}

function signedIn(ctx: Context): Principal & { kind: 'user' } {
  const { principal } = authenticationOf(ctx);
  if (principal.kind !== 'user')
    throw new RegistryError('UNAUTHORIZED', 'sign in first', {
      headers: { 'WWW-Authenticate': 'Basic realm="dtr"' },
    });
  return principal;
}

function requireAdmin(ctx: Context, services: DtrServices): void {
  if (!services.policy.isAdmin(signedIn(ctx)))
    throw new RegistryError('DENIED', 'administrators only');
}

function findAccount(services: DtrServices, name: string, kind?: Account['kind']): Account {
  const account = services.accounts.find(name);
  if (!account || (kind && account.kind !== kind)) {
    throw new RegistryError('NOT_FOUND', `no such ${kind ?? 'account'}`, { detail: { name } });
  }
  return account;
}

function visibilityOf(value: unknown): Visibility {
  if (value === 'public' || value === 'private') return value;
  throw new RegistryError('INVALID_REQUEST', 'visibility must be "public" or "private"', {
    detail: { visibility: value ?? null },
  });
}

/** A repository the principal may see; others answer 404, so their existence does not leak. */
function visibleRepository(ctx: Context, services: DtrServices): Repository {
  const fullName = `${ctx.params['namespace'] as string}/${ctx.params['name'] as string}`;
  const repository = services.repositories.find(fullName);
  if (!repository || !services.policy.canPull(authenticationOf(ctx).principal, repository)) {
    throw new RegistryError('NOT_FOUND', 'no such repository', {
      detail: { repository: fullName },
    });
  }
  return repository;
}

/**
 * DTR's JSON API under `/api/v0`: accounts (users and organizations), organization members and
 * repositories. Authenticated with HTTP Basic or a bearer token; errors use the registry envelope.
 */
export function apiRouter(services: DtrServices): Router {
  const router = new Router({ prefix: '/api/v0' });

  router.get('/accounts', (ctx) => {
    signedIn(ctx);
    ctx.body = { accounts: services.accounts.list().map(accountJson) };
  });

  router.post('/accounts', async (ctx) => {
    requireAdmin(ctx, services);
    const body = await readJsonObject(ctx.req);
    const kind =
      body['type'] === 'organization' || body['isOrg'] === true ? 'organization' : 'user';
    if (typeof body['name'] !== 'string')
      throw new RegistryError('INVALID_REQUEST', 'name is required');
    let passwordHash: string | undefined;
    if (kind === 'user') {
      const password = body['password'];
      if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
        throw new RegistryError(
          'INVALID_REQUEST',
          `a user needs a password of at least ${MIN_PASSWORD_LENGTH} characters`,
        );
      }
      passwordHash = await hashPassword(password);
    }
    const account = services.accounts.create({
      name: body['name'],
      kind,
      ...(passwordHash === undefined ? {} : { passwordHash }),
      isAdmin: kind === 'user' && body['isAdmin'] === true,
    });
    ctx.status = 201;
    ctx.body = accountJson(account);
  });

  router.get('/accounts/:name', (ctx) => {
    signedIn(ctx);
    ctx.body = accountJson(findAccount(services, ctx.params['name'] as string));
  });

  router.delete('/accounts/:name', (ctx) => {
    requireAdmin(ctx, services);
    const account = findAccount(services, ctx.params['name'] as string);
    if (account.isAdmin && services.accounts.list().filter((other) => other.isAdmin).length === 1) {
      throw new RegistryError('CONFLICT', 'the last administrator cannot be deleted');
    }
    services.accounts.delete(account.name);
    ctx.status = 204;
  });

  const memberAdministration = (ctx: Context): { organization: Account; user?: Account } => {
    const principal = signedIn(ctx);
    const organization = findAccount(
      services,
      ctx.params['organization'] as string,
      'organization',
    );
    if (!services.policy.ownsNamespace(principal, organization))
      throw new RegistryError('DENIED', 'members and administrators only');
    const name = ctx.params['user'];
    return {
      organization,
      ...(name === undefined ? {} : { user: findAccount(services, name, 'user') }),
    };
  };

  router.get('/accounts/:organization/members', (ctx) => {
    const { organization } = memberAdministration(ctx);
    ctx.body = { members: services.accounts.members(organization).map(accountJson) };
  });

  router.put('/accounts/:organization/members/:user', (ctx) => {
    const { organization, user } = memberAdministration(ctx);
    services.accounts.addMember(organization, user as Account);
    ctx.body = accountJson(user as Account);
  });

  router.delete('/accounts/:organization/members/:user', (ctx) => {
    const { organization, user } = memberAdministration(ctx);
    if (!services.accounts.removeMember(organization, user as Account)) {
      throw new RegistryError('NOT_FOUND', 'not a member', { detail: { user: user?.name } });
    }
    ctx.status = 204;
  });

  router.get('/repositories', (ctx) => {
    const { principal } = authenticationOf(ctx);
    const visible = services.repositories
      .list()
      .filter((repository) => services.policy.canPull(principal, repository));
    ctx.body = { repositories: visible.map(repositoryJson) };
  });

  router.get('/repositories/:namespace', (ctx) => {
    const { principal } = authenticationOf(ctx);
    const namespace = findAccount(services, ctx.params['namespace'] as string);
    const visible = services.repositories
      .list({ namespace: namespace.name })
      .filter((repository) => services.policy.canPull(principal, repository));
    ctx.body = { repositories: visible.map(repositoryJson) };
  });

  router.post('/repositories/:namespace', async (ctx) => {
    const principal = signedIn(ctx);
    const namespace = findAccount(services, ctx.params['namespace'] as string);
    if (!services.policy.ownsNamespace(principal, namespace))
      throw new RegistryError('DENIED', 'you may not create repositories here');
    const body = await readJsonObject(ctx.req);
    if (typeof body['name'] !== 'string')
      throw new RegistryError('INVALID_REQUEST', 'name is required');
    const repository = services.repositories.create(
      namespace,
      body['name'],
      visibilityOf(body['visibility'] ?? 'private'),
    );
    ctx.status = 201;
    ctx.body = repositoryJson(repository);
  });

  router.get('/repositories/:namespace/:name', (ctx) => {
    ctx.body = repositoryJson(visibleRepository(ctx, services));
  });

  router.patch('/repositories/:namespace/:name', async (ctx) => {
    const principal = signedIn(ctx);
    const repository = visibleRepository(ctx, services);
    if (!services.policy.canPush(principal, repository))
      throw new RegistryError('DENIED', 'owners only');
    const body = await readJsonObject(ctx.req);
    ctx.body = repositoryJson(
      services.repositories.setVisibility(repository, visibilityOf(body['visibility'])),
    );
  });

  router.delete('/repositories/:namespace/:name', (ctx) => {
    const principal = signedIn(ctx);
    const repository = visibleRepository(ctx, services);
    if (!services.policy.canDelete(principal, repository))
      throw new RegistryError('DENIED', 'owners only');
    services.repositories.delete(repository);
    ctx.status = 204;
  });

  contentCacheRoutes(router, services);
  return router;
}

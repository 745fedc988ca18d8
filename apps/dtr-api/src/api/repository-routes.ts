import type Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { readJsonObject } from '../read-body';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import type { Repository, Visibility } from '../store/repository-store';
import { findAccount, signedIn } from './api-helpers';

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

/** `/api/v0/repositories`: what the caller may see; created, changed and deleted by owners. */
export function repositoryRoutes(router: Router, services: DtrServices): void {
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
    const body = await readJsonObject(ctx);
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
    const body = await readJsonObject(ctx);
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
}

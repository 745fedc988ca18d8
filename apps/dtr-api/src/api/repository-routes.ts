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
async function visibleRepository(ctx: Context, services: DtrServices): Promise<Repository> {
  const fullName = `${ctx.params['namespace'] as string}/${ctx.params['name'] as string}`;
  const repository = await services.repositories.find(fullName);
  if (
    !repository ||
    !(await services.policy.canPull(authenticationOf(ctx).principal, repository))
  ) {
    throw new RegistryError('NOT_FOUND', 'no such repository', {
      detail: { repository: fullName },
    });
  }
  return repository;
}

/** `/api/v0/repositories`: what the caller may see; created, changed and deleted by owners. */
export function repositoryRoutes(router: Router, services: DtrServices): void {
  router.get('/repositories', async (ctx) => {
    const { principal } = authenticationOf(ctx);
    const visible = await services.policy.pullable(principal, await services.repositories.list());
    ctx.body = { repositories: visible.map(repositoryJson) };
  });

  router.get('/repositories/:namespace', async (ctx) => {
    const { principal } = authenticationOf(ctx);
    const namespace = await findAccount(services, ctx.params['namespace'] as string);
    const visible = await services.policy.pullable(
      principal,
      await services.repositories.list({ namespace: namespace.name }),
    );
    ctx.body = { repositories: visible.map(repositoryJson) };
  });

  router.post('/repositories/:namespace', async (ctx) => {
    const principal = signedIn(ctx);
    const namespace = await findAccount(services, ctx.params['namespace'] as string);
    if (!(await services.policy.ownsNamespace(principal, namespace)))
      throw new RegistryError('DENIED', 'you may not create repositories here');
    const body = await readJsonObject(ctx);
    if (typeof body['name'] !== 'string')
      throw new RegistryError('INVALID_REQUEST', 'name is required');
    const repository = await services.repositories.create(
      namespace,
      body['name'],
      visibilityOf(body['visibility'] ?? 'private'),
    );
    ctx.status = 201;
    ctx.body = repositoryJson(repository);
  });

  router.get('/repositories/:namespace/:name', async (ctx) => {
    ctx.body = repositoryJson(await visibleRepository(ctx, services));
  });

  router.patch('/repositories/:namespace/:name', async (ctx) => {
    const principal = signedIn(ctx);
    const repository = await visibleRepository(ctx, services);
    if (!(await services.policy.canPush(principal, repository)))
      throw new RegistryError('DENIED', 'owners only');
    const body = await readJsonObject(ctx);
    ctx.body = repositoryJson(
      await services.repositories.setVisibility(repository, visibilityOf(body['visibility'])),
    );
  });

  router.delete('/repositories/:namespace/:name', async (ctx) => {
    const principal = signedIn(ctx);
    const repository = await visibleRepository(ctx, services);
    if (!(await services.policy.canDelete(principal, repository)))
      throw new RegistryError('DENIED', 'owners only');
    await services.repositories.delete(repository);
    ctx.status = 204;
  });
}

import type Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { readJsonObject } from '../read-body';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import type { Principal } from '../auth/access-policy';
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

/** The visibility `value` names. @throws RegistryError `INVALID_REQUEST` otherwise. */
export function visibilityOf(value: unknown): Visibility {
  if (value === 'public' || value === 'private') return value;
  throw new RegistryError('INVALID_REQUEST', 'visibility must be "public" or "private"', {
    detail: { visibility: value ?? null },
  });
}

/**
 * The repository `fullName` if `principal` may see it (pull it). Others get 404 whether it exists
 * or not, so the existence of a private repository does not leak.
 * @throws RegistryError `NOT_FOUND`.
 */
export async function findVisibleRepository(
  services: DtrServices,
  principal: Principal,
  fullName: string,
): Promise<Repository> {
  const repository = await services.repositories.find(fullName);
  if (!repository || !(await services.policy.canPull(principal, repository))) {
    throw new RegistryError('NOT_FOUND', 'no such repository', {
      detail: { repository: fullName },
    });
  }
  return repository;
}

/** A repository the caller may see, named by the route's `:namespace/:name`. */
function visibleRepository(ctx: Context, services: DtrServices): Promise<Repository> {
  return findVisibleRepository(
    services,
    authenticationOf(ctx).principal,
    `${ctx.params['namespace'] as string}/${ctx.params['name'] as string}`,
  );
}

/** @throws RegistryError `UNSUPPORTED` in read-only mode (`storage.maintenance.readonly`). */
function refuseWhenReadOnly(services: DtrServices): void {
  if (services.options.readOnly)
    throw new RegistryError(
      'UNSUPPORTED',
      'the registry is in read-only mode (storage.maintenance.readonly): pulls only',
    );
}

/** What `principal` may do to a repository it sees (the access policy's push and delete rules). */
export async function repositoryPermissions(
  services: DtrServices,
  principal: Principal,
  repository: Repository,
): Promise<{ changeVisibility: boolean; deleteRepository: boolean; deleteTags: boolean }> {
  const mayDelete = (what: 'repository' | 'tags') =>
    checkMayDelete(services, principal, repository, what).then(
      () => true,
      (error: unknown) => {
        if (error instanceof RegistryError) return false;
        throw error;
      },
    );
  return {
    changeVisibility: await services.policy.canPush(principal, repository),
    deleteRepository: await mayDelete('repository'),
    deleteTags: await mayDelete('tags'),
  };
}

/**
 * Makes a repository public or private: its owners (who may push to it) only. Allowed in
 * read-only mode, which keeps content, not settings, unchanged.
 * @throws RegistryError `DENIED` for others.
 */
export async function changeRepositoryVisibility(
  services: DtrServices,
  principal: Principal,
  repository: Repository,
  visibility: Visibility,
): Promise<Repository> {
  if (!(await services.policy.canPush(principal, repository)))
    throw new RegistryError('DENIED', 'owners only');
  return services.repositories.setVisibility(repository, visibility);
}

/**
 * Checks that `principal` may delete the repository (`what`: "repository") or its tags ("tags"),
 * as the registry API decides: never in read-only mode; tags only with deletes enabled
 * (`storage.delete.enabled`, as `DELETE /v2/<name>/manifests/<tag>`); by the repository's owners
 * and administrators.
 * @throws RegistryError `UNSUPPORTED` (read-only, deletes disabled) or `DENIED`.
 */
export async function checkMayDelete(
  services: DtrServices,
  principal: Principal,
  repository: Repository,
  what: 'repository' | 'tags',
): Promise<void> {
  refuseWhenReadOnly(services);
  if (what === 'tags' && !services.options.deleteEnabled)
    throw new RegistryError('UNSUPPORTED', 'deletes are disabled (storage.delete.enabled)');
  if (!(await services.policy.canDelete(principal, repository)))
    throw new RegistryError('DENIED', 'owners only');
}

/**
 * Deletes a repository with its tags and manifests (see {@link checkMayDelete}).
 * @throws RegistryError `DENIED` for others; `UNSUPPORTED` in read-only mode.
 */
export async function deleteRepository(
  services: DtrServices,
  principal: Principal,
  repository: Repository,
): Promise<void> {
  await checkMayDelete(services, principal, repository, 'repository');
  await services.repositories.delete(repository);
}

/**
 * Deletes a tag (its manifest stays, by digest), under the rules of the registry API's
 * `DELETE /v2/<name>/manifests/<tag>` (see {@link checkMayDelete}).
 * @throws RegistryError `UNSUPPORTED`, `DENIED`, or `MANIFEST_UNKNOWN` for a tag not there.
 */
export async function deleteRepositoryTag(
  services: DtrServices,
  principal: Principal,
  repository: Repository,
  tag: string,
): Promise<void> {
  await checkMayDelete(services, principal, repository, 'tags');
  if (!(await services.repositories.deleteTag(repository, tag)))
    throw new RegistryError('MANIFEST_UNKNOWN', 'no such tag', { detail: { tag } });
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
      await changeRepositoryVisibility(
        services,
        principal,
        repository,
        visibilityOf(body['visibility']),
      ),
    );
  });

  router.delete('/repositories/:namespace/:name', async (ctx) => {
    const principal = signedIn(ctx);
    await deleteRepository(services, principal, await visibleRepository(ctx, services));
    ctx.status = 204;
  });
}

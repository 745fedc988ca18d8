import type { Context } from 'koa';
import { Headers, RegistryError, registryPaths } from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import { authenticationOf, authorizeRepository } from './registry-access';

/** Largest page of tags or repositories. */
const MAX_PAGE = 1000;

/** `n` and `last` of a paginated listing. @throws RegistryError `PAGINATION_NUMBER_INVALID`. */
export function pageRequest(ctx: Context): { limit: number; after: string | undefined } {
  const n = ctx.query['n'];
  const last = ctx.query['last'];
  let limit = MAX_PAGE;
  if (n !== undefined) {
    if (typeof n !== 'string' || !/^\d+$/.test(n) || Number(n) > MAX_PAGE) {
      throw new RegistryError('PAGINATION_NUMBER_INVALID', undefined, {
        detail: { n, maximum: MAX_PAGE },
      });
    }
    limit = Number(n);
  }
  return { limit, after: typeof last === 'string' ? last : undefined };
}

/** `GET /v2/<name>/tags/list?n=&last=`, with a `Link` header to the next page. */
export async function listTags(ctx: Context, services: DtrServices, name: string): Promise<void> {
  const repository = await authorizeRepository(ctx, services, name, 'pull');
  const { limit, after } = pageRequest(ctx);
  const tags = await services.repositories.tags(repository, {
    ...(after === undefined ? {} : { after }),
    limit: limit + 1,
  });
  const page = tags.slice(0, limit);
  if (tags.length > limit && page.length > 0) {
    ctx.set(
      Headers.link,
      `<${registryPaths.tags(repository.fullName, { n: limit, last: page.at(-1) })}>; rel="next"`,
    );
  }
  ctx.body = { name: repository.fullName, tags: page };
}

/** `GET /v2/_catalog?n=&last=`: every repository, for administrators only. */
export async function listCatalog(ctx: Context, services: DtrServices): Promise<void> {
  const auth = authenticationOf(ctx);
  const allowed =
    auth.credentials.kind === 'bearer'
      ? auth.credentials.access.some(
          (access) => access.type === 'registry' && access.name === 'catalog',
        )
      : services.policy.isAdmin(auth.principal);
  if (!allowed) {
    if (auth.credentials.kind === 'basic')
      throw new RegistryError('DENIED', 'the catalog is for administrators');
    throw services.authenticator.unauthorized(
      ctx,
      'authentication required',
      'registry:catalog:*',
      auth.credentials.kind === 'bearer' ? 'insufficient_scope' : undefined,
    );
  }
  const { limit, after } = pageRequest(ctx);
  const repositories = await services.repositories.list({
    ...(after === undefined ? {} : { after }),
    limit: limit + 1,
  });
  const page = repositories.slice(0, limit).map((repository) => repository.fullName);
  if (repositories.length > limit && page.length > 0) {
    ctx.set(
      Headers.link,
      `<${registryPaths.catalog({ n: limit, last: page.at(-1) })}>; rel="next"`,
    );
  }
  ctx.body = { repositories: page };
}

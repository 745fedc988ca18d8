import type { Context } from 'koa';
import {
  type BlobGrant,
  BlobGrantError,
  blobAnswerHeaders,
  type Digest,
  etagOf,
  grantFromQuery,
  formatContentRange,
  Headers,
  parseRangeHeader,
  RegistryError,
  rangeLength,
  rangeNotSatisfiable,
  rendezvousRank,
} from '@dtr-cache/registry-protocol';
import { clientOf } from '../request-context';
import type { DtrServices } from '../services';
import { grantedBlobUrl } from '../caches/granted-blob-url';
import { pullDestination } from '../caches/pull-destination';
import { requestedRoute, routedBlobUrl } from '../caches/requested-route';
import type { Repository } from '../store/repository-store';
import { authenticationOf, authorizeRepository } from './registry-access';

/**
 * Where to send a blob request instead of serving it: a member of the user's content cache, with
 * a grant for exactly this repository, digest and user. The member is the first of the cache's
 * healthy members ranked by rendezvous hashing of the digest: the same member every time while it
 * is healthy, only its own share moving when it is not. With no healthy member the blob is served
 * here (a pull never breaks because a cache is down).
 */
async function cacheRedirect(
  ctx: Context,
  services: DtrServices,
  repository: Repository,
  digest: Digest,
) {
  const { principal } = authenticationOf(ctx);
  if (principal.kind !== 'user') {
    services.metrics.servedDirectly.inc({ reason: 'anonymous' });
    return undefined;
  }
  const { cache } = await pullDestination(
    services.caches,
    services.cacheNetworks,
    principal.account,
    clientOf(ctx),
    services.cachePulls,
  );
  if (!cache) {
    services.metrics.servedDirectly.inc({ reason: 'no-cache' });
    return undefined;
  }
  const member = rendezvousRank(
    digest.toString(),
    services.cacheHealth.healthyMembers(cache),
    (host) => host,
  )[0];
  if (member === undefined) {
    services.metrics.servedDirectly.inc({ reason: 'cache-unhealthy' });
    services.logger.warn('content cache unhealthy, serving blob directly', {
      cache: cache.name,
      repo: repository.fullName,
      digest: digest.toString(),
    });
    return undefined;
  }
  return grantedBlobUrl(services, cache.name, member, principal.account, repository, digest);
}

/**
 * Where to send a blob request (without a grant) instead of serving it: where its
 * `X-Content-Cache-Route` header asks, else where the user's setting (or network) says.
 * @throws RegistryError for a route that cannot be followed (see {@link routedBlobUrl}).
 */
async function blobRedirect(
  ctx: Context,
  services: DtrServices,
  repository: Repository,
  digest: Digest,
): Promise<URL | undefined> {
  const route = requestedRoute(ctx);
  return route === undefined
    ? cacheRedirect(ctx, services, repository, digest)
    : routedBlobUrl(ctx, services, route, repository, digest);
}

/**
 * The repository a grant (carried by a cache filling its copy: the last hop of every miss) lets
 * DTR serve, checked against the grant's account as it is now, not as it was when the grant was
 * signed: the account must still exist with the same credential generation (password) and still
 * be allowed to pull the repository.
 * @throws BlobGrantError `revoked` if not; any other refusal of the grant itself.
 */
async function grantedRepository(
  services: DtrServices,
  token: string,
  name: string,
  digest: Digest,
): Promise<Repository | undefined> {
  const grant: BlobGrant = await services.grantKeys.verifier.verify(token, {
    repository: name,
    digest,
  });
  const account = await services.accounts.findById(grant.accountId);
  const repository = await services.repositories.find(name);
  const allowed =
    account?.kind === 'user' &&
    account.generation === grant.generation &&
    (!repository || (await services.policy.canPull({ kind: 'user', account }, repository)));
  if (!allowed) {
    services.logger.warn('blob grant refused: its account lost access', {
      account: grant.subject,
      accountId: grant.accountId,
      repo: name,
      digest: digest.toString(),
    });
    throw new BlobGrantError('revoked');
  }
  return repository;
}

/**
 * `GET`/`HEAD /v2/<name>/blobs/<digest>`: only a blob linked to the repository (pushed, mounted
 * or referenced there) is served; knowing a digest from elsewhere gives nothing. A user with a
 * content cache selected is redirected (307) there with a signed grant; a request carrying a valid
 * grant (a cache filling its copy) is served directly, if the grant's account may still pull the
 * repository. Without a grant, `X-Content-Cache-Route` (checked after the pull access and the
 * blob) asks for this one request to go to a named cache or member, or to DTR itself. Single
 * ranges get 206 (or 416); `If-None-Match` with the digest gets 304. Streams the blob.
 * @throws RegistryError `BLOB_UNKNOWN`, the refusals of the pull access and of the grant, and
 *   those of a route (`INVALID_REQUEST`, `UNAUTHORIZED`, `NOT_FOUND`, `UNAVAILABLE`).
 */
export async function getBlob(
  ctx: Context,
  services: DtrServices,
  name: string,
  digest: Digest,
): Promise<void> {
  const grant = grantFromQuery(ctx.querystring);
  let repository: Repository | undefined;
  if (grant !== undefined) {
    repository = await grantedRepository(services, grant, name, digest);
  } else {
    repository = await authorizeRepository(ctx, services, name, 'pull');
  }
  const linkedSize =
    repository && (await services.repositories.linkedBlobSize(repository, digest.toString()));
  const info = linkedSize === undefined ? undefined : await services.blobs.stat(digest);
  if (!repository || !info)
    throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: digest.toString() } });

  if (grant !== undefined) services.metrics.servedDirectly.inc({ reason: 'cache-fill' });
  const redirect =
    grant === undefined ? await blobRedirect(ctx, services, repository, digest) : undefined;
  if (redirect) {
    ctx.status = 307;
    ctx.set(Headers.location, redirect.href);
    ctx.set('Cache-Control', 'no-store');
    ctx.length = 0;
    return;
  }

  const headers = blobAnswerHeaders(digest);
  for (let index = 0; index < headers.length; index += 2)
    ctx.set(headers[index] as string, headers[index + 1] as string);
  if (ctx.get(Headers.ifNoneMatch) === etagOf(digest)) {
    ctx.status = 304;
    return;
  }
  const range = parseRangeHeader(ctx.get(Headers.range) || undefined, info.size);
  if (range.kind === 'unsatisfiable') throw rangeNotSatisfiable(info.size);
  const partial = range.kind === 'partial' ? range.range : undefined;
  if (partial) ctx.set(Headers.contentRange, formatContentRange(partial, info.size));
  ctx.status = partial ? 206 : 200;
  ctx.length = partial ? rangeLength(partial) : info.size;
  if (ctx.method === 'HEAD') return;
  const blob = await services.blobs.open(digest, partial);
  ctx.body = blob.stream;
  void services.blobs.touch(digest).catch(() => undefined);
}

/** `DELETE /v2/<name>/blobs/<digest>`: unlinks the blob from the repository (if deletes are enabled). */
export async function deleteBlob(
  ctx: Context,
  services: DtrServices,
  name: string,
  digest: Digest,
): Promise<void> {
  if (!services.options.deleteEnabled)
    throw new RegistryError('UNSUPPORTED', 'deletes are disabled (storage.delete.enabled)');
  const repository = await authorizeRepository(ctx, services, name, 'delete');
  if (!(await services.repositories.unlinkBlob(repository, digest.toString()))) {
    throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: digest.toString() } });
  }
  ctx.status = 202;
  ctx.length = 0;
}

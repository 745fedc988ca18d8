import type { Context } from 'koa';
import { isValidTag, RegistryError } from '@dtr-cache/registry-protocol';
import type { Principal } from '../auth/access-policy';
import { findVisibleRepository } from '../api/repository-routes';
import type { DtrServices } from '../services';
import type { Repository } from '../store/repository-store';
import { PageError } from './page-kit';
import type { Viewer } from './ui-pages';

/** The viewer as the access policy's principal. */
export function principalOf(viewer: Viewer): Principal {
  return { kind: 'user', account: viewer.account };
}

/** A refusal of the shared repository operations, as an HTML page with the API's status. */
export function pageErrorOf(error: RegistryError, fullName: string): PageError {
  switch (error.code) {
    case 'NOT_FOUND':
      return new PageError(
        404,
        'No such repository',
        `There is no repository named "${fullName}", or you may not see it.`,
      );
    case 'MANIFEST_UNKNOWN':
      return new PageError(404, 'No such tag', `That tag is not in ${fullName} (any more).`);
    case 'DENIED':
      return new PageError(
        403,
        'Not allowed',
        `Only the owners of ${fullName} and administrators may do that.`,
      );
    case 'UNSUPPORTED':
      return new PageError(405, 'Not possible now', `Refused: ${error.message}.`);
    default:
      return new PageError(error.status, 'Request refused', `Refused: ${error.message}.`);
  }
}

/** Runs a shared operation, turning its refusals into pages. */
export async function asPage<T>(fullName: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof RegistryError) throw pageErrorOf(error, fullName);
    throw error;
  }
}

/** `namespace/name` of a route's `:namespace/:name`. */
export function fullNameOf(ctx: Context): string {
  return `${ctx.params['namespace'] as string}/${ctx.params['name'] as string}`;
}

/** The route's repository if the viewer may see it; else a 404 page (nothing leaks). */
export function visibleRepository(
  services: DtrServices,
  ctx: Context,
  viewer: Viewer,
): Promise<Repository> {
  return asPage(fullNameOf(ctx), () =>
    findVisibleRepository(services, principalOf(viewer), fullNameOf(ctx)),
  );
}

/** The route's `:tag`, if it is a tag name at all (a 404 page otherwise). */
export function routeTag(ctx: Context): string {
  const tag = ctx.params['tag'] as string;
  if (!isValidTag(tag))
    throw new PageError(404, 'No such tag', 'That is not a tag name of this registry.');
  return tag;
}

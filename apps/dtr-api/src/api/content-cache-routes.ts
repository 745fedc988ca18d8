import type Router from '@koa/router';
import type { Context } from 'koa';
import { parseHttpUrl } from '@dtr-cache/config';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { readJsonObject } from '../read-body';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import type { ContentCache } from '../store/content-cache-store';

function signedInUser(ctx: Context): Account {
  const { principal } = authenticationOf(ctx);
  if (principal.kind !== 'user') {
    throw new RegistryError('UNAUTHORIZED', 'sign in first', {
      headers: { 'WWW-Authenticate': 'Basic realm="dtr"' },
    });
  }
  return principal.account;
}

/** A cache as the API shows it, with its last health check. */
export function cacheJson(services: DtrServices, cache: ContentCache) {
  const health = services.cacheHealth.status(cache);
  return {
    id: cache.id,
    name: cache.name,
    host: cache.host,
    createdAt: cache.createdAt,
    health: {
      status:
        health.healthy === undefined
          ? ('unknown' as const)
          : health.healthy
            ? ('healthy' as const)
            : ('unhealthy' as const),
      checkedAt: health.checkedAt?.toISOString() ?? null,
      error: health.error ?? null,
    },
  };
}

/**
 * An absolute http(s) URL without credentials, query or fragment, normalized without a trailing
 * slash, whose host the address policy allows (no link-local or cloud metadata address).
 */
function cacheHost(services: DtrServices, value: unknown): string {
  try {
    const url = parseHttpUrl(value);
    services.cacheAddresses.checkHost(url);
    return `${url.origin}${url.pathname === '/' ? '' : url.pathname}`;
  } catch (error) {
    throw new RegistryError('INVALID_REQUEST', `host: ${(error as Error).message}`, {
      detail: { host: value ?? null },
    });
  }
}

async function cacheById(services: DtrServices, id: string | undefined): Promise<ContentCache> {
  const cache = /^\d{1,15}$/.test(id ?? '') ? await services.caches.find(Number(id)) : undefined;
  if (!cache) throw new RegistryError('NOT_FOUND', 'no such content cache', { detail: { id } });
  return cache;
}

/**
 * Registers a content cache (administrators only; the caller checks) and starts checking it.
 * @throws RegistryError `INVALID_REQUEST` for a bad name or host, `CONFLICT` for a taken name.
 */
export async function registerContentCache(
  services: DtrServices,
  input: { name: unknown; host: unknown },
): Promise<ContentCache> {
  if (typeof input.name !== 'string')
    throw new RegistryError('INVALID_REQUEST', 'name is required');
  const cache = await services.caches.create(input.name, cacheHost(services, input.host));
  void services.cacheHealth.check(cache);
  return cache;
}

/**
 * Removes a content cache by id (it is cleared from every user's settings).
 * @throws RegistryError `NOT_FOUND`.
 */
export async function deleteContentCache(
  services: DtrServices,
  id: string | undefined,
): Promise<ContentCache> {
  const cache = await cacheById(services, id);
  await services.caches.delete(cache.id);
  services.cacheHealth.forget(cache);
  return cache;
}

/**
 * Sets the content cache `account` pulls blobs through: a cache name, or "" (or null) for none.
 * @throws RegistryError `INVALID_REQUEST` for anything else or an unknown name.
 */
export async function chooseContentCache(
  services: DtrServices,
  account: Account,
  name: unknown,
): Promise<void> {
  if (name !== null && typeof name !== 'string') {
    throw new RegistryError('INVALID_REQUEST', 'contentCache must be a cache name, or "" to clear');
  }
  const cache = name === null || name === '' ? undefined : await services.caches.findByName(name);
  if (name !== null && name !== '' && !cache) {
    throw new RegistryError('INVALID_REQUEST', `there is no content cache named "${name}"`, {
      detail: {
        contentCache: name,
        known: (await services.caches.list()).map((known) => known.name),
      },
    });
  }
  await services.caches.setCacheOf(account, cache);
}

/**
 * `/api/v0/content_caches` (administrators change, signed-in users read) and
 * `/api/v0/accounts/{username}/settings` (the user's content cache; users change their own,
 * administrators anyone's).
 */
export function contentCacheRoutes(router: Router, services: DtrServices): void {
  router.get('/content_caches', async (ctx) => {
    signedInUser(ctx);
    ctx.body = {
      contentCaches: (await services.caches.list()).map((cache) => cacheJson(services, cache)),
    };
  });

  router.post('/content_caches', async (ctx) => {
    if (!signedInUser(ctx).isAdmin) throw new RegistryError('DENIED', 'administrators only');
    const body = await readJsonObject(ctx);
    const cache = await registerContentCache(services, { name: body['name'], host: body['host'] });
    ctx.status = 201;
    ctx.set('Location', `/api/v0/content_caches/${cache.id}`);
    ctx.body = cacheJson(services, cache);
  });

  router.get('/content_caches/:id', async (ctx) => {
    signedInUser(ctx);
    ctx.body = cacheJson(services, await cacheById(services, ctx.params['id']));
  });

  router.delete('/content_caches/:id', async (ctx) => {
    if (!signedInUser(ctx).isAdmin) throw new RegistryError('DENIED', 'administrators only');
    await deleteContentCache(services, ctx.params['id']);
    ctx.status = 204;
  });

  const settingsOwner = async (ctx: Context): Promise<Account> => {
    const caller = signedInUser(ctx);
    const name = ctx.params['username'] as string;
    if (caller.name !== name && !caller.isAdmin)
      throw new RegistryError('DENIED', 'you may change only your own settings');
    const account = await services.accounts.find(name);
    if (!account || account.kind !== 'user')
      throw new RegistryError('NOT_FOUND', 'no such user', { detail: { name } });
    return account;
  };

  const settingsJson = async (account: Account) => ({
    contentCache: (await services.caches.cacheOf(account))?.name ?? '',
  });

  router.get('/accounts/:username/settings', async (ctx) => {
    ctx.body = await settingsJson(await settingsOwner(ctx));
  });

  router.patch('/accounts/:username/settings', async (ctx) => {
    const account = await settingsOwner(ctx);
    const body = await readJsonObject(ctx);
    if (!('contentCache' in body))
      throw new RegistryError(
        'INVALID_REQUEST',
        'contentCache is required (a cache name, or "" to clear)',
      );
    await chooseContentCache(services, account, body['contentCache']);
    ctx.body = await settingsJson(account);
  });
}

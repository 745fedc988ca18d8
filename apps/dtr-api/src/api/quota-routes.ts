import type Router from '@koa/router';
import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { readJsonObject } from '../read-body';
import type { DtrServices } from '../services';
import type { Account, StorageQuota } from '../store/account-store';
import { findAccount, requireAdmin, signedIn } from './api-helpers';

/** The largest quota that can be set: 2^53 - 1 bytes (exact in JSON numbers). */
const MAX_QUOTA = Number.MAX_SAFE_INTEGER;

function quotaOf(value: unknown): StorageQuota {
  if (value === null) return 'unlimited';
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_QUOTA)
    return value;
  throw new RegistryError(
    'INVALID_REQUEST',
    'limitBytes must be a whole number of bytes (0 or more), or null for no limit',
    { detail: { limitBytes: value ?? null } },
  );
}

/**
 * `/api/v0/accounts/{name}/quota`: a namespace's storage quota and use. The account itself, its
 * organization's members and administrators read it; administrators set the account's own limit
 * (`PUT {"limitBytes": n}`, `null` for none) or return it to the default (`DELETE`).
 */
export function quotaRoutes(router: Router, services: DtrServices): void {
  const quotaJson = async (account: Account) => {
    const usage = await services.quotas.usage(account);
    return {
      namespace: account.name,
      limitBytes: usage.limit ?? null,
      source: usage.source,
      usedBytes: usage.used,
    };
  };

  const readable = async (ctx: Context): Promise<Account> => {
    const principal = signedIn(ctx);
    const account = await findAccount(services, ctx.params['name'] as string);
    if (!(await services.policy.ownsNamespace(principal, account)))
      throw new RegistryError('DENIED', 'the account itself, its members and administrators only');
    return account;
  };

  router.get('/accounts/:name/quota', async (ctx) => {
    ctx.body = await quotaJson(await readable(ctx));
  });

  router.put('/accounts/:name/quota', async (ctx) => {
    requireAdmin(ctx, services);
    const account = await findAccount(services, ctx.params['name'] as string);
    const body = await readJsonObject(ctx);
    if (!('limitBytes' in body))
      throw new RegistryError('INVALID_REQUEST', 'limitBytes is required (bytes, or null)');
    const changed = await services.accounts.setStorageQuota(account, quotaOf(body['limitBytes']));
    services.logger.info('storage quota set', {
      namespace: account.name,
      limitBytes: body['limitBytes'],
      by: signedIn(ctx).account.name,
    });
    ctx.body = await quotaJson(changed);
  });

  router.delete('/accounts/:name/quota', async (ctx) => {
    requireAdmin(ctx, services);
    const account = await findAccount(services, ctx.params['name'] as string);
    ctx.body = await quotaJson(await services.accounts.setStorageQuota(account, undefined));
  });
}

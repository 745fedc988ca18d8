import type { Context } from 'koa';
import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Principal } from '../auth/access-policy';
import { authenticationOf } from '../registry/registry-access';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';

/** The signed-in user. @throws RegistryError `UNAUTHORIZED` (with a Basic challenge) otherwise. */
export function signedIn(ctx: Context): Principal & { kind: 'user' } {
  const { principal } = authenticationOf(ctx);
  if (principal.kind !== 'user')
    throw new RegistryError('UNAUTHORIZED', 'sign in first', {
      headers: { 'WWW-Authenticate': 'Basic realm="dtr"' },
    });
  return principal;
}

/** @throws RegistryError `DENIED` unless the signed-in user is an administrator. */
export function requireAdmin(ctx: Context, services: DtrServices): void {
  if (!services.policy.isAdmin(signedIn(ctx)))
    throw new RegistryError('DENIED', 'administrators only');
}

/** The account `name` (of `kind`, if given). @throws RegistryError `NOT_FOUND`. */
export async function findAccount(
  services: DtrServices,
  name: string,
  kind?: Account['kind'],
): Promise<Account> {
  const account = await services.accounts.find(name);
  if (!account || (kind && account.kind !== kind)) {
    throw new RegistryError('NOT_FOUND', `no such ${kind ?? 'account'}`, { detail: { name } });
  }
  return account;
}

/** An account as the API shows it (never its password hash). */
export function accountJson(account: Account) {
  return {
    id: account.id,
    name: account.name,
    type: account.kind,
    isAdmin: account.isAdmin,
    createdAt: account.createdAt,
  };
}

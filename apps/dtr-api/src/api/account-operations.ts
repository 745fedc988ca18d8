import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Principal } from '../auth/access-policy';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import { findAccount } from './api-helpers';

/** Shortest password accepted for a user. */
export const MIN_PASSWORD_LENGTH = 8;

/** A signed-in user calling an operation. */
export type Caller = Principal & { kind: 'user' };

/** A new password from a request. @throws RegistryError `INVALID_REQUEST` if too short. */
export function newPassword(value: unknown, field = 'password'): string {
  if (typeof value !== 'string' || value.length < MIN_PASSWORD_LENGTH) {
    throw new RegistryError(
      'INVALID_REQUEST',
      `${field} must be a string of at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
  return value;
}

/** @throws RegistryError `DENIED` unless the caller is an administrator. */
function assertAdministrator(services: DtrServices, caller: Caller): void {
  if (!services.policy.isAdmin(caller)) throw new RegistryError('DENIED', 'administrators only');
}

/** What creates an account: as the API's body and the web UI's form give it. */
export interface NewAccount {
  readonly name: unknown;
  readonly kind: Account['kind'];
  /** A user's password (organizations have none). */
  readonly password?: unknown;
  /** Only `true` makes the new user an administrator. */
  readonly isAdmin?: unknown;
}

/**
 * Creates a user (with a password of at least {@link MIN_PASSWORD_LENGTH} characters) or an
 * organization (administrators only).
 * @throws RegistryError `DENIED` for a non-administrator, `INVALID_REQUEST` for a missing or bad
 *   name or a short password, `CONFLICT` if the name is taken.
 */
export async function createAccount(
  services: DtrServices,
  caller: Caller,
  input: NewAccount,
): Promise<Account> {
  assertAdministrator(services, caller);
  if (typeof input.name !== 'string' || input.name === '')
    throw new RegistryError('INVALID_REQUEST', 'name is required');
  const passwordHash =
    input.kind === 'user' ? await services.passwords.hash(newPassword(input.password)) : undefined;
  const account = await services.accounts.create({
    name: input.name,
    kind: input.kind,
    ...(passwordHash === undefined ? {} : { passwordHash }),
    isAdmin: input.kind === 'user' && input.isAdmin === true,
  });
  services.logger.info('account created', {
    name: account.name,
    kind: account.kind,
    isAdmin: account.isAdmin,
    by: caller.account.name,
  });
  return account;
}

/**
 * Deletes an account (of `kind`, if given) with its repositories and memberships (administrators
 * only). Returns the deleted account.
 * @throws RegistryError `DENIED` for a non-administrator, `NOT_FOUND`, `CONFLICT` for the
 *   caller's own account, the last administrator or an organization's last owner.
 */
export async function deleteAccount(
  services: DtrServices,
  caller: Caller,
  name: string,
  kind?: Account['kind'],
): Promise<Account> {
  assertAdministrator(services, caller);
  const account = await findAccount(services, name, kind);
  if (account.id === caller.account.id)
    throw new RegistryError('CONFLICT', 'administrators cannot delete their own account');
  if (!(await services.accounts.delete(account.name)))
    throw new RegistryError('NOT_FOUND', `no such ${kind ?? 'account'}`, { detail: { name } });
  services.logger.info('account deleted', {
    name: account.name,
    kind: account.kind,
    by: caller.account.name,
  });
  return account;
}

/**
 * Makes a user an administrator or not (administrators only); returns the user as they are now.
 * @throws RegistryError `DENIED` for a non-administrator, `INVALID_REQUEST` unless `isAdmin` is a
 *   boolean, `NOT_FOUND` unless `name` is a user, `CONFLICT` if this demotes the last
 *   administrator.
 */
export async function setAdministrator(
  services: DtrServices,
  caller: Caller,
  name: string,
  isAdmin: unknown,
): Promise<Account> {
  assertAdministrator(services, caller);
  if (typeof isAdmin !== 'boolean')
    throw new RegistryError('INVALID_REQUEST', 'isAdmin must be true or false');
  const user = await findAccount(services, name, 'user');
  const changed = await services.accounts.setAdmin(user, isAdmin);
  services.logger.info('administrator changed', {
    name: changed.name,
    isAdmin: changed.isAdmin,
    by: caller.account.name,
  });
  return changed;
}

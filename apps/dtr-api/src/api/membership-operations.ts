import { RegistryError } from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import type { Account } from '../store/account-store';
import type { OrganizationRole } from '../store/membership-store';
import type { Caller } from './account-operations';
import { findAccount } from './api-helpers';

/** A role from a request; undefined if absent. @throws RegistryError `INVALID_REQUEST` otherwise. */
export function roleOf(value: unknown): OrganizationRole | undefined {
  if (value === undefined) return undefined;
  if (value === 'owner' || value === 'member') return value;
  throw new RegistryError('INVALID_REQUEST', 'role must be "owner" or "member"', {
    detail: { role: value },
  });
}

/**
 * The organization `name`, if the caller may see its members (its members and administrators).
 * @throws RegistryError `NOT_FOUND` (no such organization), `DENIED` (anyone else).
 */
export async function visibleOrganization(
  services: DtrServices,
  caller: Caller,
  name: string,
): Promise<Account> {
  const organization = await findAccount(services, name, 'organization');
  if (!(await services.policy.ownsNamespace(caller, organization)))
    throw new RegistryError('DENIED', 'members and administrators only');
  return organization;
}

/**
 * The organization `name` and the user `userName`, if the caller may change its membership (its
 * owners and administrators).
 * @throws RegistryError `NOT_FOUND` (no such organization or user), `DENIED` (anyone else).
 */
async function managedMembership(
  services: DtrServices,
  caller: Caller,
  name: string,
  userName: string,
): Promise<{ organization: Account; user: Account }> {
  const organization = await visibleOrganization(services, caller, name);
  if (!(await services.policy.canManageMembers(caller, organization)))
    throw new RegistryError('DENIED', 'only owners and administrators change membership');
  return { organization, user: await findAccount(services, userName, 'user') };
}

/**
 * Adds a member (role "member" unless the role says otherwise) or changes a member's role (owners
 * and administrators). `requestedRole` gives the role ("owner", "member" or undefined) and is
 * called only once the caller is known to be allowed (the API reads the body then). Returns the
 * organization, the user and the role they have now.
 * @throws RegistryError as {@link managedMembership}, `INVALID_REQUEST` for another role,
 *   `CONFLICT` if this demotes the last owner.
 */
export async function putMember(
  services: DtrServices,
  caller: Caller,
  organizationName: string,
  userName: string,
  requestedRole: () => unknown,
): Promise<{ organization: Account; user: Account; role: OrganizationRole }> {
  const { organization, user } = await managedMembership(
    services,
    caller,
    organizationName,
    userName,
  );
  const role = roleOf(await requestedRole());
  const now = await services.memberships.put(organization, user, role);
  services.logger.info('membership changed', {
    organization: organization.name,
    user: user.name,
    role: now,
    by: caller.account.name,
  });
  return { organization, user, role: now };
}

/**
 * Removes a member (owners and administrators).
 * @throws RegistryError as {@link managedMembership}, `NOT_FOUND` if the user is not a member,
 *   `CONFLICT` if they are the last owner.
 */
export async function removeMember(
  services: DtrServices,
  caller: Caller,
  organizationName: string,
  userName: string,
): Promise<void> {
  const { organization, user } = await managedMembership(
    services,
    caller,
    organizationName,
    userName,
  );
  if (!(await services.memberships.remove(organization, user)))
    throw new RegistryError('NOT_FOUND', 'not a member', { detail: { user: user.name } });
  services.logger.info('membership removed', {
    organization: organization.name,
    user: user.name,
    by: caller.account.name,
  });
}

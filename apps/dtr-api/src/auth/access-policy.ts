import type { Account } from '../store/account-store';
import type { MembershipStore } from '../store/membership-store';
import type { Repository } from '../store/repository-store';

/** Who is asking: an authenticated account, or nobody. */
export type Principal =
  { readonly kind: 'anonymous' } | { readonly kind: 'user'; readonly account: Account };

export const ANONYMOUS: Principal = { kind: 'anonymous' };

/**
 * DTR's access rules. Public repositories: anyone (anonymous too) pulls. Private: the owning user
 * or members of the owning organization (any role) pull. Push: the owner or organization members.
 * Delete: administrators, the owning user or organization members. An organization's membership
 * is changed by its owners and administrators only. Administrators may do everything.
 */
export class AccessPolicy {
  constructor(private readonly memberships: MembershipStore) {}

  isAdmin(principal: Principal): boolean {
    return principal.kind === 'user' && principal.account.isAdmin;
  }

  /** True if the principal owns the namespace (is it, or a member of the organization). */
  ownsNamespace(principal: Principal, namespace: Pick<Account, 'id' | 'kind'>): boolean {
    if (principal.kind !== 'user') return false;
    if (principal.account.isAdmin || principal.account.id === namespace.id) return true;
    return (
      namespace.kind === 'organization' &&
      this.memberships.roleOf(namespace.id, principal.account.id) !== undefined
    );
  }

  /** True if the principal may add and remove the organization's members: owners and administrators. */
  canManageMembers(principal: Principal, organization: Pick<Account, 'id'>): boolean {
    if (principal.kind !== 'user') return false;
    return (
      principal.account.isAdmin ||
      this.memberships.roleOf(organization.id, principal.account.id) === 'owner'
    );
  }

  canPull(principal: Principal, repository: Repository): boolean {
    return (
      repository.visibility === 'public' ||
      this.ownsNamespace(principal, this.namespaceOf(repository))
    );
  }

  canPush(principal: Principal, repository: Repository): boolean {
    return this.ownsNamespace(principal, this.namespaceOf(repository));
  }

  canDelete(principal: Principal, repository: Repository): boolean {
    return this.ownsNamespace(principal, this.namespaceOf(repository));
  }

  /** The actions of `requested` the principal may perform on an existing repository. */
  allowedActions(
    principal: Principal,
    repository: Repository,
    requested: readonly string[],
  ): string[] {
    const allowed = new Set<string>();
    for (const action of requested) {
      if (action === 'pull' && this.canPull(principal, repository)) allowed.add('pull');
      if (action === 'push' && this.canPush(principal, repository)) allowed.add('push');
      if (action === 'delete' && this.canDelete(principal, repository)) allowed.add('delete');
      if (action === '*' && this.isAdmin(principal))
        ['pull', 'push', 'delete', '*'].forEach((a) => allowed.add(a));
    }
    return [...allowed];
  }

  private namespaceOf(repository: Repository): Pick<Account, 'id' | 'kind'> {
    return { id: repository.namespaceId, kind: repository.namespaceKind };
  }
}

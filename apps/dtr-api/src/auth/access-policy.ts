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
  async ownsNamespace(
    principal: Principal,
    namespace: Pick<Account, 'id' | 'kind'>,
  ): Promise<boolean> {
    if (principal.kind !== 'user') return false;
    if (principal.account.isAdmin || principal.account.id === namespace.id) return true;
    return (
      namespace.kind === 'organization' &&
      (await this.memberships.roleOf(namespace.id, principal.account.id)) !== undefined
    );
  }

  /** True if the principal may add and remove the organization's members: owners and administrators. */
  async canManageMembers(
    principal: Principal,
    organization: Pick<Account, 'id'>,
  ): Promise<boolean> {
    if (principal.kind !== 'user') return false;
    return (
      principal.account.isAdmin ||
      (await this.memberships.roleOf(organization.id, principal.account.id)) === 'owner'
    );
  }

  async canPull(principal: Principal, repository: Repository): Promise<boolean> {
    return (
      repository.visibility === 'public' ||
      (await this.ownsNamespace(principal, this.namespaceOf(repository)))
    );
  }

  canPush(principal: Principal, repository: Repository): Promise<boolean> {
    return this.ownsNamespace(principal, this.namespaceOf(repository));
  }

  canDelete(principal: Principal, repository: Repository): Promise<boolean> {
    return this.ownsNamespace(principal, this.namespaceOf(repository));
  }

  /** The repositories of `repositories` the principal may pull, in their order. */
  async pullable(principal: Principal, repositories: readonly Repository[]): Promise<Repository[]> {
    const visible: Repository[] = [];
    for (const repository of repositories)
      if (await this.canPull(principal, repository)) visible.push(repository);
    return visible;
  }

  /** The actions of `requested` the principal may perform on an existing repository. */
  async allowedActions(
    principal: Principal,
    repository: Repository,
    requested: readonly string[],
  ): Promise<string[]> {
    const allowed = new Set<string>();
    for (const action of requested) {
      if (action === 'pull' && (await this.canPull(principal, repository))) allowed.add('pull');
      if (action === 'push' && (await this.canPush(principal, repository))) allowed.add('push');
      if (action === 'delete' && (await this.canDelete(principal, repository)))
        allowed.add('delete');
      if (action === '*' && this.isAdmin(principal))
        ['pull', 'push', 'delete', '*'].forEach((a) => allowed.add(a));
    }
    return [...allowed];
  }

  /**
   * The actions of `requested` the principal may perform on a repository that does not exist in
   * `namespace` (undefined: no such account): those who would pull, and delete, it if it existed
   * (the namespace's owners and administrators) may pull and delete the name, and learn it does
   * not exist (404, as the distribution spec says); they may push it when pushes create
   * repositories. Anyone else gets nothing, so a missing repository looks like a private one.
   */
  async allowedActionsOnMissing(
    principal: Principal,
    namespace: Pick<Account, 'id' | 'kind'> | undefined,
    requested: readonly string[],
    createOnPush: boolean,
  ): Promise<string[]> {
    if (!namespace || !(await this.ownsNamespace(principal, namespace))) return [];
    return requested.filter(
      (action) => action === 'pull' || action === 'delete' || (action === 'push' && createOnPush),
    );
  }

  private namespaceOf(repository: Repository): Pick<Account, 'id' | 'kind'> {
    return { id: repository.namespaceId, kind: repository.namespaceKind };
  }
}

import { RegistryError } from '@dtr-cache/registry-protocol';
import type { Account, AccountStore } from '../store/account-store';
import type { Repository, RepositoryStore } from '../store/repository-store';
import type { UploadSessionStore } from '../store/upload-session-store';

/** A namespace's quota and what it uses. */
export interface QuotaUsage {
  /** The limit in bytes; undefined: no quota. */
  readonly limit: number | undefined;
  /** Where the limit comes from: the account's own override, the default, or none at all. */
  readonly source: 'account' | 'default' | 'none';
  /** Bytes of its distinct stored blobs plus its uploads in progress. */
  readonly used: number;
}

/**
 * Storage quotas per namespace (user or organization): `quota.default` unless an administrator
 * set the account's own. Usage counts each distinct blob (layers, configs, manifests) linked to
 * the namespace's repositories once, plus the bytes of its uploads in progress, so a push is
 * refused before its bytes are kept, not after.
 */
export class StorageQuotas {
  constructor(
    private readonly accounts: AccountStore,
    private readonly repositories: RepositoryStore,
    private readonly uploads: UploadSessionStore,
    private readonly defaultLimit: number | undefined,
  ) {}

  /** The quota of a namespace and its use. */
  async usage(namespace: Pick<Account, 'id' | 'storageQuota'>): Promise<QuotaUsage> {
    const override = namespace.storageQuota;
    const limit = override === 'unlimited' ? undefined : (override ?? this.defaultLimit);
    const source =
      override !== undefined ? 'account' : this.defaultLimit !== undefined ? 'default' : 'none';
    const used =
      (await this.repositories.namespaceBytes(namespace.id)) +
      (await this.uploads.pendingBytes(namespace.id));
    return { limit, source, used };
  }

  /** Bytes the repository's namespace may still take (Infinity without a quota). */
  async allowance(repository: Repository): Promise<number> {
    const namespace = await this.accounts.findById(repository.namespaceId);
    if (!namespace) return 0;
    const { limit, used } = await this.usage(namespace);
    return limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, limit - used);
  }

  /**
   * Checks that `bytes` more fit in the repository's namespace.
   * @throws RegistryError `DENIED`, saying the quota, the use and what was asked.
   */
  async assertRoom(repository: Repository, bytes: number): Promise<void> {
    if (bytes <= 0) return;
    const namespace = await this.accounts.findById(repository.namespaceId);
    if (!namespace) return;
    const { limit, used } = await this.usage(namespace);
    if (limit !== undefined && used + bytes > limit)
      throw quotaExceeded(namespace.name, limit, used, bytes);
  }

  /** Checks room for a blob in the namespace, unless the namespace holds it already. */
  async assertRoomForBlob(repository: Repository, digest: string, size: number): Promise<void> {
    if (!(await this.repositories.namespaceHasBlob(repository.namespaceId, digest)))
      await this.assertRoom(repository, size);
  }
}

/** The refusal of a push past a namespace's quota. */
export function quotaExceeded(
  namespace: string,
  limit: number,
  used: number,
  needed: number,
  headers: Record<string, string> = {},
): RegistryError {
  return new RegistryError(
    'DENIED',
    `storage quota of "${namespace}" exceeded: ${used} of ${limit} bytes used, ${needed} more needed`,
    { detail: { namespace, quota: limit, used, needed }, headers },
  );
}

import type { BlobStore, ResumableBlobStore } from '@dtr-cache/blob-store';
import type { AddressRanges } from '@dtr-cache/network';
import type { AccessPolicy } from './auth/access-policy';
import type { DtrMetrics } from './metrics/dtr-metrics';
import type { Authenticator } from './auth/authenticate';
import type { PasswordGuard } from './auth/password-guard';
import type { TokenService } from './auth/token-service';
import type { CacheAddressPolicy } from './caches/cache-address-policy';
import type { CacheHealthMonitor } from './caches/cache-health-monitor';
import type { CacheNetworkIndex } from './caches/cache-networks';
import type { CachePullCounts } from './caches/cache-pull-counts';
import type { CacheStatsSampler } from './caches/cache-stats-sampler';
import type { GrantKeyring } from './grants/grant-keyring';
import type { Logger } from '@dtr-cache/logging';
import type { StorageQuotas } from './registry/storage-quotas';
import type { UploadSessions } from './registry/upload-sessions';
import type { AccountStore } from './store/account-store';
import type { ContentCacheStore } from './store/content-cache-store';
import type { MembershipStore } from './store/membership-store';
import type { ReferrerStore } from './store/referrer-store';
import type { RepositoryStore } from './store/repository-store';
import type { SessionStore } from './store/session-store';

/** Everything DTR's request handlers use; built by main.ts (or a test) and given to createApp. */
export interface DtrServices {
  /** Prometheus metrics (`/metrics`). */
  readonly metrics: DtrMetrics;
  readonly accounts: AccountStore;
  readonly memberships: MembershipStore;
  readonly repositories: RepositoryStore;
  /** The referrers (OCI 1.1) of the repositories' manifests. */
  readonly referrers: ReferrerStore;
  readonly policy: AccessPolicy;
  readonly tokens: TokenService;
  readonly authenticator: Authenticator;
  /** Every password check and new password hash: throttled and bounded. */
  readonly passwords: PasswordGuard;
  readonly sessions: SessionStore;
  readonly blobs: BlobStore & ResumableBlobStore;
  readonly uploads: UploadSessions;
  readonly quotas: StorageQuotas;
  readonly logger: Logger;
  readonly caches: ContentCacheStore;
  readonly cacheHealth: CacheHealthMonitor;
  /** The cache of a client network, for users without a setting. */
  readonly cacheNetworks: CacheNetworkIndex;
  /** Blob pulls sent to each cache by why (setting or network), flushed by the sampler. */
  readonly cachePulls: CachePullCounts;
  /** The dashboard's sampler of every cache member's stats, and the samples' store. */
  readonly cacheStats: CacheStatsSampler;
  /** Which hosts and addresses content caches may have (`contentcaches.allowednetworks`). */
  readonly cacheAddresses: CacheAddressPolicy;
  readonly grantKeys: GrantKeyring;
  readonly options: {
    /** `auth.issuer`: the `iss` of grants. */
    readonly issuer: string;
    /** Lifetime of blob grants in redirects, in seconds. */
    readonly grantLifetimeSeconds: number;
    /** `storage.delete.enabled`: blob and manifest DELETE allowed. */
    readonly deleteEnabled: boolean;
    readonly createOnPush: boolean;
    readonly service: string;
    /** PEM served at GET /ca, if configured. */
    readonly caCertificatePem: string | undefined;
    /** Headers set on every response (`http.headers`). */
    readonly headers: Readonly<Record<string, readonly string[]>>;
    /** One `request` log line per request (`log.accesslog.disabled: false`). */
    readonly accessLog: boolean;
    /** `network.trustedproxies`: peers whose X-Forwarded-For names the client. */
    readonly trustedProxies: AddressRanges;
    /** `storage.maintenance.readonly.enabled`: registry API writes answer 405 UNSUPPORTED. */
    readonly readOnly: boolean;
    /** False with `http.debug`: `/metrics` is served by the debug server only. */
    readonly metricsOnMainPort: boolean;
  };
}

import type { BlobStore } from '@dtr-cache/blob-store';
import type { AccessPolicy } from './auth/access-policy';
import type { Authenticator } from './auth/authenticate';
import type { TokenService } from './auth/token-service';
import type { CacheHealthMonitor } from './caches/cache-health-monitor';
import type { GrantKeyring } from './grants/grant-keyring';
import type { Logger } from '@dtr-cache/logging';
import type { UploadSessions } from './registry/upload-sessions';
import type { AccountStore } from './store/account-store';
import type { ContentCacheStore } from './store/content-cache-store';
import type { RepositoryStore } from './store/repository-store';
import type { SessionStore } from './store/session-store';

/** Everything DTR's request handlers use; built by main.ts (or a test) and given to createApp. */
export interface DtrServices {
  readonly accounts: AccountStore;
  readonly repositories: RepositoryStore;
  readonly policy: AccessPolicy;
  readonly tokens: TokenService;
  readonly authenticator: Authenticator;
  readonly sessions: SessionStore;
  readonly blobs: BlobStore;
  readonly uploads: UploadSessions;
  readonly logger: Logger;
  readonly caches: ContentCacheStore;
  readonly cacheHealth: CacheHealthMonitor;
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
  };
}

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { rootCertificates } from 'node:tls';
import { AddressRanges } from '@dtr-cache/network';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { FilesystemDriver, MemoryDriver, openBlobStore } from '@dtr-cache/blob-store';
import { GarbageCollector } from './gc/garbage-collector';
import { scheduledGarbageCollection } from './gc/gc-scheduler';
import { AccessPolicy } from './auth/access-policy';
import { DtrMetrics } from './metrics/dtr-metrics';
import { CacheAddressPolicy } from './caches/cache-address-policy';
import { CacheHealthMonitor } from './caches/cache-health-monitor';
import { CacheNetworkIndex } from './caches/cache-networks';
import { CachePullCounts } from './caches/cache-pull-counts';
import { CacheStatsClient } from './caches/cache-stats-client';
import { CacheStatsSampler } from './caches/cache-stats-sampler';
import { openSigningKeys } from './keys/signing-keys';
import { Authenticator } from './auth/authenticate';
import { hashPassword } from './auth/password-hash';
import { PasswordGuard } from './auth/password-guard';
import { SharedFailureBackoff } from './auth/shared-failure-backoff';
import { AuthFailureStore } from './store/auth-failure-store';
import { TokenService } from './auth/token-service';
import type { DtrConfig } from './dtr-config';
import type { Logger } from '@dtr-cache/logging';
import { StorageQuotas } from './registry/storage-quotas';
import { UploadSessions } from './registry/upload-sessions';
import type { DtrServices } from './services';
import { AccountStore } from './store/account-store';
import { CacheHealthStore } from './store/cache-health-store';
import { CacheStatsStore } from './store/cache-stats-store';
import { ContentCacheStore } from './store/content-cache-store';
import { openDatabase } from './store/database';
import { MembershipStore } from './store/membership-store';
import { ReferrerStore } from './store/referrer-store';
import { RepositoryStore } from './store/repository-store';
import { SessionStore } from './store/session-store';
import { UploadSessionStore } from './store/upload-session-store';

/** DTR's services plus what shutting them down needs. */
export interface DtrRuntime extends DtrServices {
  close(): Promise<void>;
}

/**
 * Creates the administrator of `admin.*` unless one exists. Two replicas starting at once on a
 * new database both try: the second finds the name taken, and so an administrator.
 * @throws Error if no administrator exists and `admin.password` is not configured.
 */
async function createFirstAdministrator(
  accounts: AccountStore,
  config: DtrConfig,
  logger: Logger,
): Promise<void> {
  if (await accounts.hasAdmin()) return;
  if (config.admin.password === undefined) {
    throw new Error(
      'no administrator exists yet: set admin.password (or DTR_API_ADMIN_PASSWORD) for the first start',
    );
  }
  const passwordHash = await hashPassword(config.admin.password);
  try {
    await accounts.create({
      name: config.admin.username,
      kind: 'user',
      isAdmin: true,
      passwordHash,
    });
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'CONFLICT' && (await accounts.hasAdmin()))
      return;
    throw error;
  }
  logger.info('administrator created', { username: config.admin.username });
}

/**
 * Opens the database and blob store, loads (or creates) the token key, creates the first
 * administrator if none exists, and wires the services.
 * @throws Error if no administrator exists and `admin.password` is not configured.
 */
export async function buildServices(config: DtrConfig, logger: Logger): Promise<DtrRuntime> {
  const metrics = new DtrMetrics();
  const { database, engine, migration } = await openDatabase(config.database, {
    poolSize: config.databasePoolSize,
    log: metrics.queryLogger(config.database.engine),
  });
  logger.info('database opened', {
    engine,
    schemaVersion: migration.databaseVersion,
    migrationsApplied: migration.applied,
  });
  const accounts = new AccountStore(database);
  const memberships = new MembershipStore(database);
  const repositories = new RepositoryStore(database);
  const referrers = new ReferrerStore(database);
  try {
    await createFirstAdministrator(accounts, config, logger);
  } catch (error) {
    await database.destroy();
    throw error;
  }
  const driver =
    config.storage.driver.kind === 'inmemory'
      ? new MemoryDriver()
      : new FilesystemDriver(config.storage.driver.rootDirectory);
  const uploadStore = new UploadSessionStore(database);
  metrics.countUploadsWith(() => uploadStore.count());
  // Upload sessions outlive a restart: their bytes are kept. Other replicas share the storage
  // root: a temp file written lately may be theirs (a manifest or blob being stored now), so only
  // those nobody wrote for the idle timeout are stale.
  const sessionFiles = await uploadStore.tempKeys();
  const staleBefore = Date.now() - config.uploads.idleTimeout.milliseconds;
  const blobs = await openBlobStore(driver, {
    keepTemp: (file) => sessionFiles.has(file.key) || file.modifiedAt.getTime() >= staleBefore,
    onTempFilesRemoved: (count) => count > 0 && logger.info('stale temp files removed', { count }),
  });
  const garbageCollection = scheduledGarbageCollection(
    config.garbageCollection,
    new GarbageCollector({ database, engine, blobs, logger }),
    logger,
  );
  garbageCollection?.start();
  const tokenLifetimeSeconds = Math.max(1, Math.round(config.auth.tokenTtl.milliseconds / 1000));
  const grantLifetimeSeconds = Math.max(1, Math.round(config.grants.lifetime.milliseconds / 1000));
  const signingKeys = await openSigningKeys(
    database,
    {
      issuer: config.auth.issuer,
      grantLifetimeMs: grantLifetimeSeconds * 1000,
      grantRotationMs: config.grants.keyRotation.milliseconds,
      tokenLifetimeMs: tokenLifetimeSeconds * 1000,
      tokenRotationMs: config.auth.keyRotation.milliseconds,
      tokenKeyFile: config.auth.keyFile,
    },
    logger,
  );
  const { grantKeys } = signingKeys;
  const tokens = new TokenService(signingKeys.tokenKeys, {
    issuer: config.auth.issuer,
    service: config.auth.service,
    lifetimeSeconds: tokenLifetimeSeconds,
  });
  const realm = config.auth.realm;
  const sessions = new SessionStore(database, config.ui.sessionLifetime.milliseconds);
  const backoffPolicy = {
    freeAttempts: config.auth.throttle.freeAttempts,
    maxBackoffMs: config.auth.throttle.maxBackoff.milliseconds,
  };
  const passwords = new PasswordGuard(
    accounts,
    {
      ...backoffPolicy,
      concurrency:
        config.auth.hashConcurrency > 0
          ? config.auth.hashConcurrency
          : Math.max(1, Math.floor(availableParallelism() / 2)),
      queueLimit: 64,
      rememberMs: 5 * 60 * 1000,
    },
    logger,
    // Shared by the replicas: guesses spread over them are held back as by one.
    new SharedFailureBackoff(new AuthFailureStore(database), backoffPolicy),
  );
  const authenticator = new Authenticator(accounts, tokens, sessions, passwords, {
    service: config.auth.service,
    realm: (ctx) => realm?.href ?? `${ctx.protocol}://${ctx.host}/auth/token`,
  });
  const uploads = new UploadSessions(
    uploadStore,
    blobs,
    (keep) => driver.removeTempFiles(keep),
    {
      maxPerAccount: config.uploads.maxPerAccount,
      maxSessions: config.uploads.maxSessions,
      idleTimeoutMs: config.uploads.idleTimeout.milliseconds,
    },
    logger,
  );
  const quotas = new StorageQuotas(accounts, repositories, uploadStore, config.defaultQuota);
  const caches = new ContentCacheStore(database);
  const cacheAddresses = new CacheAddressPolicy(config.contentCaches.allowedNetworks);
  const cacheCas = config.contentCaches.cas.map((file) => readFileSync(file, 'utf8'));
  const cacheHealth = new CacheHealthMonitor(
    caches,
    new CacheHealthStore(database),
    {
      intervalMs: config.contentCaches.healthInterval.milliseconds,
      timeoutMs: config.contentCaches.healthTimeout.milliseconds,
      cas: cacheCas,
      addresses: cacheAddresses,
    },
    logger,
  );
  cacheHealth.start();
  const cachePulls = new CachePullCounts();
  const cacheStats = new CacheStatsSampler(
    caches,
    new CacheStatsStore(database),
    cachePulls,
    grantKeys,
    new CacheStatsClient({
      timeoutMs: config.contentCaches.healthTimeout.milliseconds,
      certificateAuthority: [...rootCertificates, ...cacheCas],
      addresses: cacheAddresses,
    }),
    {
      intervalMs: Math.max(1000, config.contentCaches.samplingInterval.milliseconds),
      issuer: config.auth.issuer,
    },
    logger,
  );
  cacheStats.start();
  return {
    metrics,
    accounts,
    memberships,
    repositories,
    referrers,
    policy: new AccessPolicy(memberships),
    tokens,
    authenticator,
    passwords,
    sessions,
    blobs,
    uploads,
    quotas,
    logger,
    caches,
    cacheHealth,
    cacheNetworks: new CacheNetworkIndex(caches),
    cachePulls,
    cacheStats,
    cacheAddresses,
    grantKeys,
    options: {
      issuer: config.auth.issuer,
      grantLifetimeSeconds,
      deleteEnabled: config.storage.deleteEnabled,
      createOnPush: config.createOnPush,
      service: config.auth.service,
      caCertificatePem:
        config.caCertificate === undefined ? undefined : readFileSync(config.caCertificate, 'utf8'),
      headers: config.http.headers,
      accessLog: !config.log.accessLogDisabled,
      trustedProxies: new AddressRanges(config.network.trustedProxies),
      readOnly: config.storage.readOnly,
      metricsOnMainPort: config.http.debug === undefined,
    },
    async close() {
      await garbageCollection?.stop();
      signingKeys.stop();
      await cacheHealth.stop();
      await cacheStats.stop();
      uploads.close();
      await driver.close();
      await database.destroy();
    },
  };
}

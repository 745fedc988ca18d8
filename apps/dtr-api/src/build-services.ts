import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { AddressRanges } from '@dtr-cache/network';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { FilesystemDriver, MemoryDriver, openBlobStore } from '@dtr-cache/blob-store';
import { AccessPolicy } from './auth/access-policy';
import { CacheAddressPolicy } from './caches/cache-address-policy';
import { CacheHealthMonitor } from './caches/cache-health-monitor';
import { GrantKeyring } from './grants/grant-keyring';
import { Authenticator } from './auth/authenticate';
import { hashPassword } from './auth/password-hash';
import { PasswordGuard } from './auth/password-guard';
import { TokenService } from './auth/token-service';
import type { DtrConfig } from './dtr-config';
import type { Logger } from '@dtr-cache/logging';
import { StorageQuotas } from './registry/storage-quotas';
import { UploadSessions } from './registry/upload-sessions';
import type { DtrServices } from './services';
import { AccountStore } from './store/account-store';
import { ContentCacheStore } from './store/content-cache-store';
import { openDatabase } from './store/database';
import { MembershipStore } from './store/membership-store';
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
  const { database, engine, migration } = await openDatabase(config.database, {
    poolSize: config.databasePoolSize,
  });
  logger.info('database opened', {
    engine,
    schemaVersion: migration.databaseVersion,
    migrationsApplied: migration.applied,
  });
  const accounts = new AccountStore(database);
  const memberships = new MembershipStore(database);
  const repositories = new RepositoryStore(database);
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
  // Upload sessions outlive a restart: their bytes are kept, every other temp file is stale.
  const sessionFiles = await uploadStore.tempKeys();
  const blobs = await openBlobStore(driver, {
    keepTemp: (file) => sessionFiles.has(file.key),
    onTempFilesRemoved: (count) => count > 0 && logger.info('stale temp files removed', { count }),
  });
  const tokens = new TokenService(await TokenService.loadKey(config.auth.keyFile), {
    issuer: config.auth.issuer,
    service: config.auth.service,
    lifetimeSeconds: Math.max(1, Math.round(config.auth.tokenTtl.milliseconds / 1000)),
  });
  const realm = config.auth.realm;
  const sessions = new SessionStore(database, config.ui.sessionLifetime.milliseconds);
  const passwords = new PasswordGuard(
    accounts,
    {
      freeAttempts: config.auth.throttle.freeAttempts,
      maxBackoffMs: config.auth.throttle.maxBackoff.milliseconds,
      concurrency:
        config.auth.hashConcurrency > 0
          ? config.auth.hashConcurrency
          : Math.max(1, Math.floor(availableParallelism() / 2)),
      queueLimit: 64,
      rememberMs: 5 * 60 * 1000,
    },
    logger,
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
  const cacheHealth = new CacheHealthMonitor(
    caches,
    {
      intervalMs: config.contentCaches.healthInterval.milliseconds,
      timeoutMs: config.contentCaches.healthTimeout.milliseconds,
      cas: config.contentCaches.cas.map((file) => readFileSync(file, 'utf8')),
      addresses: cacheAddresses,
    },
    logger,
  );
  cacheHealth.start();
  const grantLifetimeSeconds = Math.max(1, Math.round(config.grants.lifetime.milliseconds / 1000));
  // Retired keys stay published until every grant they signed has expired (plus clock skew).
  const grantKeys = await GrantKeyring.open(database, {
    issuer: config.auth.issuer,
    retentionMs: (grantLifetimeSeconds + 60) * 1000,
  });
  const rotation = setInterval(
    () => {
      const due =
        grantKeys.activeSince.getTime() + config.grants.keyRotation.milliseconds <= Date.now();
      void (due ? grantKeys.rotate() : grantKeys.prune()).then(
        () =>
          due && logger.info('grant signing key rotated', { keyId: grantKeys.signingKey.keyId }),
        (error: unknown) => logger.error('grant key rotation failed', { error }),
      );
    },
    Math.min(config.grants.keyRotation.milliseconds, 60_000),
  );
  rotation.unref();
  return {
    accounts,
    memberships,
    repositories,
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
    },
    async close() {
      clearInterval(rotation);
      await cacheHealth.stop();
      uploads.close();
      await driver.close();
      await database.destroy();
    },
  };
}

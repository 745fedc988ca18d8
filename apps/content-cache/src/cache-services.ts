import { MemoryTier, openBlobStore, type StorageDriver } from '@dtr-cache/blob-store';
import { MEMORY_TIER_MAX_BLOB_SIZE } from '@dtr-cache/config';
import type { Logger } from '@dtr-cache/logging';
import type { CacheStats } from '@dtr-cache/registry-protocol';
import { CacheMetrics } from './cache-metrics';
import { countersOf, statsAnswer } from './cache-stats';
import { BlobExpiry, type ExpiryOptions } from './cache/blob-expiry';
import { type CacheObserver, CachingBlobStore } from './cache/caching-blob-store';
import { ClusterFills } from './cluster/cluster-fills';
import type { PrimaryLink } from './cluster/primary-link';
import { UpstreamClient, type UpstreamClientOptions } from './upstream/upstream-client';
import { UpstreamKeys } from './upstream/upstream-keys';
import { StorageHealthCheck, type StorageHealthOptions } from './storage-health';
import { type TempFilePurgeOptions, TempFilePurger } from './temp-file-purger';

/** What the cache's services are built from (the configuration, or a test's choices). */
export interface CacheServicesOptions {
  readonly logger: Logger;
  /** The storage driver of the blobs (closed by {@link BuiltCacheServices.release}). */
  readonly driver: StorageDriver;
  /** `memorysize`: bytes of recently pulled small blobs held in memory (0: none). */
  readonly memorySize: number;
  readonly upstream: UpstreamClientOptions;
  /** How often grant keys are fetched again (default: every 5 min, at most every 10 s). */
  readonly keyRefresh?: { minRefreshIntervalMs: number; refreshIntervalMs: number };
  /** `blobttl` and `maxsize`; undefined: blobs are kept until deleted by hand. */
  readonly expiry?: ExpiryOptions;
  /**
   * This process is one worker of several: its misses are filled once across all of them
   * (coordinated by the primary), pulls and stores go to the primary's expiry (`expiry` is not
   * run here), metrics are the primary's aggregate, and no temp file is removed at start-up.
   */
  readonly primary?: PrimaryLink;
  /** `health.storagedriver` when enabled: the storage is checked periodically. */
  readonly storageHealth?: StorageHealthOptions;
  /** `storage.maintenance.uploadpurging` when enabled (run here only without a primary). */
  readonly purge?: TempFilePurgeOptions;
  /** `storage.maintenance.readonly.enabled`: misses are passed through, nothing is written. */
  readonly readOnly?: boolean;
}

/** The cache's services, built and ready; nothing is listening yet. */
export interface BuiltCacheServices {
  readonly cache: CachingBlobStore;
  readonly upstream: UpstreamClient;
  readonly keys: UpstreamKeys;
  readonly metrics: CacheMetrics;
  /** Expiry and eviction, its index loading in the background, not started ({@link BlobExpiry.start}). */
  readonly expiry: BlobExpiry | undefined;
  /** The periodic storage check, when `health.storagedriver` is enabled (started). */
  readonly storageHealth: StorageHealthCheck | undefined;
  /** The Prometheus text of `/metrics`: this process's, or all workers' together. */
  metricsText(): Promise<string>;
  /** Fills under way: this process's, or all workers' together (until committed, or failed). */
  fillsInProgress(): Promise<number>;
  /** The stats answer: this process's counters, or all workers' (as reported within a second). */
  stats(): Promise<CacheStats>;
  /**
   * Lets this process's upstream downloads under way finish for up to `downloadsWaitMs` (their
   * blobs are kept), then stops timers and closes the upstream connections and the storage driver.
   */
  release(downloadsWaitMs?: number): Promise<void>;
}

/**
 * Builds the cache's services: the store (memory tier over the blobs; stale temp files removed),
 * the upstream client and its grant keys (fetched before this resolves), expiry (its index built in
 * the background), metrics, and the
 * caching store with its observers (metrics, the log line of a failed fill, expiry's records).
 * The one place both `main.ts` and the tests build them.
 * @throws the storage driver's error opening the store.
 */
export async function buildCacheServices(
  options: CacheServicesOptions,
): Promise<BuiltCacheServices> {
  const { logger, primary } = options;
  const stored = await openBlobStore(options.driver, {
    onTempFilesRemoved: (count) => count > 0 && logger.info('stale temp files removed', { count }),
    // A worker's store is shared: its temp files may be other workers' fills. A read-only store
    // is not written at all.
    ...(primary || options.readOnly ? { keepTemp: () => true } : {}),
  });
  const local = new MemoryTier(stored, {
    maxBytes: options.memorySize,
    maxBlobSize: MEMORY_TIER_MAX_BLOB_SIZE,
  });
  const upstream = new UpstreamClient(options.upstream);
  const keys = new UpstreamKeys(upstream, logger, options.keyRefresh);
  await keys.start();
  const metrics = new CacheMetrics();
  const startedAt = new Date();
  // Not awaited: a store of millions of blobs takes a while to read, and must not delay the start.
  const expiry =
    options.expiry && !primary ? BlobExpiry.open(local, options.expiry, logger) : undefined;
  const pulls: CacheObserver = primary
    ? {
        stored: (digest, size) => {
          metrics.bytesFetched.inc(size);
          primary.stored(digest, size);
        },
        reading: (digest, size) => {
          primary.pulled(digest, size);
          return () => undefined;
        },
      }
    : {
        stored: (digest, size) => {
          metrics.bytesFetched.inc(size);
          expiry?.stored(digest, size);
        },
        ...(expiry ? { reading: expiry.reading.bind(expiry) } : {}),
      };
  const cache = new CachingBlobStore(
    local,
    stored,
    upstream,
    {
      ...pulls,
      started: (digest) => logger.info('fill started', { digest: digest.toString() }),
      finished: (digest, outcome, error) => {
        metrics.fills.inc({ outcome });
        if (outcome === 'failed')
          logger.warn('fill failed, nothing kept', { digest: digest.toString(), error });
      },
    },
    primary && new ClusterFills(primary, stored),
    options.readOnly,
  );
  const storageHealth =
    options.storageHealth && new StorageHealthCheck(options.driver, options.storageHealth, logger);
  storageHealth?.start();
  const purger =
    options.purge && !primary && !options.readOnly
      ? new TempFilePurger(options.driver, options.purge, logger)
      : undefined;
  purger?.start();
  metrics.countFillsWith(() => cache.downloadsInProgress);
  const upstreams = options.upstream.hosts.map((url) => url.href);
  const limitBytes = options.expiry?.maxSize;
  const stats = async (): Promise<CacheStats> => {
    if (!primary) {
      const stored = expiry?.stats;
      return statsAnswer(await countersOf(metrics), {
        startedAt,
        fillsInFlight: cache.fillsInProgress,
        stored: stored && { bytes: stored.bytes, blobs: stored.blobs },
        limitBytes,
        upstreams,
      });
    }
    const all = await primary.stats();
    return statsAnswer(all.counters, {
      startedAt: new Date(all.startedAt),
      fillsInFlight: all.fillsInFlight,
      stored: all.stored ?? undefined,
      limitBytes,
      upstreams,
    });
  };
  primary?.reportCountersFrom(() => countersOf(metrics));
  if (primary) {
    // The primary's expiry deleted a blob: its copy in this worker's memory tier goes too.
    primary.onBlobRemoved((digest) => void local.delete(digest).catch(() => undefined));
  }
  return {
    cache,
    upstream,
    keys,
    metrics,
    expiry,
    storageHealth,
    metricsText: () => (primary ? primary.metrics() : metrics.registry.metrics()),
    fillsInProgress: () =>
      primary ? primary.fillsInProgress() : Promise.resolve(cache.fillsInProgress),
    stats,
    async release(downloadsWaitMs = 0) {
      if (!(await cache.downloadsSettled(downloadsWaitMs)))
        logger.warn('downloads under way cut off by the stop', {
          downloads: cache.downloadsInProgress,
        });
      primary?.close();
      storageHealth?.stop();
      purger?.stop();
      keys.stop();
      expiry?.stop();
      upstream.close();
      await options.driver.close();
    },
  };
}

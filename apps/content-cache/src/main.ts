import cluster from 'node:cluster';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { FilesystemDriver, MemoryDriver } from '@dtr-cache/blob-store';
import { ConfigError } from '@dtr-cache/config';
import { createLogger } from '@dtr-cache/logging';
import { listen, logConfigWarnings, stopOnSignals } from '@dtr-cache/server-lifecycle';
import { AggregatorRegistry } from 'prom-client';
import { type CacheConfig, loadCacheConfig, workerCountOf } from './cache-config';
import { PrimaryLink } from './cluster/primary-link';
import { runPrimary } from './cluster/primary';
import { createCacheServer } from './cache-server';
import { buildCacheServices } from './cache-services';
import { createDebugListener } from './debug-server';
import { AcmeCertificates } from './tls/acme-certificates';
import { serverTlsOf } from './tls/server-tls';

const USAGE = 'usage: content-cache <config.yml>';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length !== 1 || args[0]?.startsWith('-')) {
    console.error(USAGE);
    process.exit(2);
  }
  let config: CacheConfig;
  try {
    config = loadCacheConfig({ file: args[0] as string });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const { registry, upstream } = config;
  const workers = workerCountOf(config);
  const logger = createLogger({
    ...registry.log,
    fields: {
      ...registry.log.fields,
      ...(cluster.isWorker ? { worker: String(cluster.worker?.id) } : {}),
    },
  });
  const driver =
    registry.storage.driver.kind === 'inmemory'
      ? new MemoryDriver()
      : new FilesystemDriver(registry.storage.driver.rootDirectory);
  const ttlMs = config.downstream.blobTtl?.milliseconds;
  // A read-only store is not written: nothing expires from it either.
  const expiry =
    registry.storage.readOnly || (ttlMs === undefined && config.downstream.maxSize === undefined)
      ? undefined
      : {
          ttlMs,
          maxSize: config.downstream.maxSize,
          sweepIntervalMs: Math.max(100, Math.min((ttlMs ?? 240_000) / 4, 60_000)),
        };
  if (cluster.isPrimary) {
    logConfigWarnings(logger, registry.warnings);
    if (workers.onlyOne) logger.warn('serving with one process', { reason: workers.onlyOne });
  }
  const purgeConfig = registry.storage.uploadPurging;
  const purge =
    purgeConfig.enabled && !registry.storage.readOnly
      ? {
          ageMs: purgeConfig.age.milliseconds,
          intervalMs: purgeConfig.interval.milliseconds,
          dryRun: purgeConfig.dryRun,
        }
      : undefined;
  if (cluster.isPrimary && workers.count > 1) {
    await runPrimary({
      workers: workers.count,
      logger,
      driver,
      expiry,
      purge,
      drainTimeoutMs: registry.http.drainTimeout.milliseconds,
    });
    return;
  }
  const primary = cluster.isWorker ? new PrimaryLink() : undefined;
  const services = await buildCacheServices({
    logger,
    driver,
    primary,
    expiry,
    purge,
    readOnly: registry.storage.readOnly,
    storageHealth: registry.health.storageDriver.enabled
      ? {
          intervalMs: registry.health.storageDriver.interval.milliseconds,
          threshold: registry.health.storageDriver.threshold,
          readOnly: registry.storage.readOnly,
        }
      : undefined,
    memorySize: config.downstream.memorySize,
    upstream: {
      hosts: upstream.upstreamHosts.length > 0 ? upstream.upstreamHosts : [upstream.originHost],
      policy: upstream.upstreamPolicy,
      cas: config.caPems,
      connectTimeoutMs: 5000,
      stallTimeoutMs: 30_000,
      failureThreshold: 3,
      cooldownMs: 30_000,
    },
  });
  services.expiry?.start();
  if (primary) {
    // A worker answers the primary's requests for its metrics (prom-client's cluster protocol,
    // whose listener an AggregatorRegistry's construction installs).
    AggregatorRegistry.setRegistries([services.metrics.registry]);
    new AggregatorRegistry();
  }
  const letsEncrypt = registry.http.tls?.kind === 'letsencrypt' ? registry.http.tls : undefined;
  const acme = letsEncrypt
    ? new AcmeCertificates(
        {
          directoryUrl: letsEncrypt.directoryUrl,
          email: letsEncrypt.email,
          hosts: letsEncrypt.hosts,
          cacheFile: letsEncrypt.cacheFile,
        },
        logger,
      )
    : undefined;
  const debug = registry.http.debug;
  const tls = serverTlsOf(config, acme);
  const server = createCacheServer(
    {
      ...services,
      logger,
      headers: registry.http.headers,
      accessLog: !registry.log.accessLogDisabled,
      prefix: registry.http.prefix,
      metricsOnMainPort: debug === undefined,
    },
    {
      tls: tls?.options,
      // Connections are spread over the workers in turn: each takes its share of the cap.
      maxClientConnections: Math.ceil(config.downstream.maxClientConnections / workers.count),
      sendTimeoutMs: config.downstream.sendTimeout.milliseconds,
    },
  );

  if (tls) tls.policy.enforce(server as HttpsServer);
  const debugServer: Server | undefined = debug
    ? createHttpServer(createDebugListener(services, debug.metricsPath))
    : undefined;

  stopOnSignals(server, {
    drainTimeoutMs: registry.http.drainTimeout.milliseconds,
    logger,
    release: async () => {
      debugServer?.close();
      acme?.stop();
      // Downloads under way finish (their blobs kept) within another drain timeout.
      await services.release(registry.http.drainTimeout.milliseconds);
    },
  });
  const addr = await listen(server, registry.http.listen);
  if (debugServer && debug) {
    const debugAddr = await listen(debugServer, debug.listen);
    logger.info('debug server listening', { addr: debugAddr, metrics: debug.metricsPath ?? null });
  }
  logger.info('listening', {
    addr,
    prefix: registry.http.prefix,
    host: registry.http.host?.href ?? null,
    tls: tls !== undefined,
    upstreams: (upstream.upstreamHosts.length > 0
      ? upstream.upstreamHosts
      : [upstream.originHost]
    ).map((url) => url.href),
  });
  if (acme) {
    await acme
      .ensure()
      .catch((error: unknown) => logger.error('certificate could not be obtained', { error }));
    acme.startRenewal();
  }
}

main().catch((error: unknown) => {
  console.error(`content-cache: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

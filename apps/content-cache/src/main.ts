import cluster from 'node:cluster';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { FilesystemDriver, MemoryDriver } from '@dtr-cache/blob-store';
import { ConfigError } from '@dtr-cache/config';
import { createLogger } from '@dtr-cache/logging';
import { listen, stopOnSignals } from '@dtr-cache/server-lifecycle';
import { AggregatorRegistry } from 'prom-client';
import { type CacheConfig, loadCacheConfig, workerCountOf } from './cache-config';
import { PrimaryLink } from './cluster/primary-link';
import { runPrimary } from './cluster/primary';
import { createCacheServer } from './cache-server';
import { buildCacheServices } from './cache-services';
import { AcmeCertificates } from './tls/acme-certificates';

const USAGE = 'usage: content-cache <config.yml>';

/** The TLS options of the cache's server, or undefined for plain HTTP. */
function tlsOptions(
  config: CacheConfig,
  acme: AcmeCertificates | undefined,
): HttpsServerOptions | undefined {
  const tls = config.tlsFiles;
  const minVersion = config.registry.http.tls?.minimumVersion ?? 'TLSv1.2';
  const clientCas = tls?.clientCas ?? [];
  const mutual =
    clientCas.length > 0 ? { ca: clientCas, requestCert: true, rejectUnauthorized: true } : {};
  if (acme) {
    // acme-tls/1 lets the ACME server validate the TLS-ALPN-01 challenge on this very port.
    return {
      SNICallback: acme.sniCallback,
      ALPNProtocols: ['http/1.1', 'acme-tls/1'],
      minVersion,
      ...mutual,
    };
  }
  if (!tls) return undefined;
  return { cert: tls.certificate, key: tls.key, minVersion, ...mutual };
}

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
  const expiry =
    ttlMs === undefined && config.downstream.maxSize === undefined
      ? undefined
      : {
          ttlMs,
          maxSize: config.downstream.maxSize,
          sweepIntervalMs: Math.max(100, Math.min((ttlMs ?? 240_000) / 4, 60_000)),
        };
  if (cluster.isPrimary && workers.onlyOne)
    logger.warn('serving with one process', { reason: workers.onlyOne });
  if (cluster.isPrimary && workers.count > 1) {
    await runPrimary({
      workers: workers.count,
      logger,
      driver,
      expiry,
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
  const server = createCacheServer(
    {
      ...services,
      logger,
      headers: registry.http.headers,
      accessLog: !registry.log.accessLogDisabled,
    },
    {
      tls: tlsOptions(config, acme),
      // Connections are spread over the workers in turn: each takes its share of the cap.
      maxClientConnections: Math.ceil(config.downstream.maxClientConnections / workers.count),
      sendTimeoutMs: config.downstream.sendTimeout.milliseconds,
    },
  );

  stopOnSignals(server, {
    drainTimeoutMs: registry.http.drainTimeout.milliseconds,
    logger,
    release: async () => {
      acme?.stop();
      // Downloads under way finish (their blobs kept) within another drain timeout.
      await services.release(registry.http.drainTimeout.milliseconds);
    },
  });
  const addr = await listen(server, registry.http.listen);
  logger.info('listening', {
    addr,
    tls: config.tlsFiles !== undefined || acme !== undefined,
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

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { ConfigError } from '@dtr-cache/config';
import { createApp } from './app';
import { buildServices } from './build-services';
import { GARBAGE_COLLECT_USAGE, garbageCollectCommand } from './garbage-collect-command';
import { MIGRATE_DB_USAGE, migrateDbCommand } from './migrate-db-command';
import { type DtrConfig, loadDtrConfig } from './dtr-config';
import { createLogger } from '@dtr-cache/logging';
import { listen, logConfigWarnings, stopOnSignals, tlsPolicy } from '@dtr-cache/server-lifecycle';
import { createDebugListener } from './http/debug-listener';

const USAGE = `usage: dtr-api --config <config.yml>   (or: dtr-api <config.yml>)
       ${MIGRATE_DB_USAGE.slice('usage: '.length)}
       ${GARBAGE_COLLECT_USAGE.slice('usage: '.length)}`;

function configPath(args: string[]): string | undefined {
  if (args.length === 1 && !args[0]?.startsWith('-')) return args[0];
  if (args.length === 2 && args[0] === '--config') return args[1];
  return undefined;
}

/**
 * How long a client may take to send its request head (slow-header connections are closed), and
 * how long a connection may stay silent both ways (a stalled upload or reader). A whole request
 * has no time limit: a large layer pushed over a slow link takes as long as it takes, as long as
 * its bytes keep coming.
 */
const HEADERS_TIMEOUT_MS = 30_000;
const IDLE_TIMEOUT_MS = 120_000;

function createServer(
  config: DtrConfig,
  callback: ReturnType<ReturnType<typeof createApp>['callback']>,
): Server {
  const server = createTransport(config, callback);
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = 0;
  server.timeout = IDLE_TIMEOUT_MS;
  return server;
}

function createTransport(
  config: DtrConfig,
  callback: ReturnType<ReturnType<typeof createApp>['callback']>,
): Server {
  const tls = config.http.tls;
  if (tls === undefined) return createHttpServer(callback);
  // Let's Encrypt is refused by the configuration (dtrConfigDefinition.overrides).
  if (tls.kind !== 'files') throw new Error('http.tls.letsencrypt is not supported by dtr-api');
  const policy = tlsPolicy(
    tls,
    tls.clientCas.map((file) => readFileSync(file, 'utf8')),
  );
  const server = createHttpsServer(
    { cert: readFileSync(tls.certificate), key: readFileSync(tls.key), ...policy.options },
    callback,
  );
  policy.enforce(server);
  return server;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === 'migrate-db') {
    process.exit(await migrateDbCommand(args.slice(1), { line: (text) => console.log(text) }));
  }
  if (args[0] === 'garbage-collect') {
    process.exit(await garbageCollectCommand(args.slice(1), { line: (text) => console.log(text) }));
  }
  const file = configPath(args);
  if (file === undefined) {
    console.error(USAGE);
    process.exit(2);
  }
  let config: DtrConfig;
  try {
    config = loadDtrConfig({ file });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.log);
  logConfigWarnings(logger, config.warnings);
  const services = await buildServices(config, logger);
  const callback = createApp(services).callback();
  const server = createServer(config, callback);
  const debug = config.http.debug;
  const debugServer = debug
    ? createHttpServer(createDebugListener(callback, services.metrics.registry, debug.metricsPath))
    : undefined;

  // Registered before listening: a signal arriving right after start-up still stops gracefully.
  stopOnSignals(server, {
    drainTimeoutMs: config.http.drainTimeout.milliseconds,
    logger,
    release: () => {
      debugServer?.close();
      return services.close();
    },
  });
  const addr = await listen(server, config.http.listen);
  if (debugServer && debug) {
    const debugAddr = await listen(debugServer, debug.listen);
    logger.info('debug server listening', { addr: debugAddr, metrics: debug.metricsPath ?? null });
  }
  logger.info('listening', { addr, tls: config.http.tls !== undefined });
}

main().catch((error: unknown) => {
  console.error(`dtr-api: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

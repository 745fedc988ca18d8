import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { ConfigError, formatListenAddress } from '@dtr-cache/config';
import { createApp } from './app';
import { buildServices } from './build-services';
import { type DtrConfig, loadDtrConfig } from './dtr-config';
import { createLogger } from '@dtr-cache/logging';

const USAGE = 'usage: dtr-api --config <config.yml>   (or: dtr-api <config.yml>)';

function configPath(args: string[]): string | undefined {
  if (args.length === 1 && !args[0]?.startsWith('-')) return args[0];
  if (args.length === 2 && args[0] === '--config') return args[1];
  return undefined;
}

function createServer(
  config: DtrConfig,
  callback: ReturnType<ReturnType<typeof createApp>['callback']>,
): Server {
  const tls = config.http.tls;
  if (tls === undefined) return createHttpServer(callback);
  if (tls.kind !== 'files')
    throw new Error(
      "Let's Encrypt is not supported by dtr-api: configure http.tls.certificate and key",
    );
  return createHttpsServer(
    {
      cert: readFileSync(tls.certificate),
      key: readFileSync(tls.key),
      minVersion: tls.minimumVersion,
      ...(tls.clientCas.length > 0
        ? {
            ca: tls.clientCas.map((file) => readFileSync(file)),
            requestCert: true,
            rejectUnauthorized: true,
          }
        : {}),
    },
    callback,
  );
}

async function main(): Promise<void> {
  const file = configPath(process.argv.slice(2));
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
  const services = await buildServices(config, logger);
  const server = createServer(config, createApp(services).callback());
  const listen = config.http.listen;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(
      () => server.closeAllConnections(),
      config.http.drainTimeout.milliseconds,
    );
    force.unref();
    server.close(() => {
      clearTimeout(force);
      void services.close().then(() => {
        logger.info('stopped');
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  // Registered before listening: a signal arriving right after start-up still stops gracefully.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.kind === 'unix') server.listen(listen.path, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  const bound = server.address();
  const addr =
    typeof bound === 'object' && bound !== null
      ? formatListenAddress({ kind: 'tcp', host: bound.address, port: bound.port })
      : formatListenAddress(listen);
  logger.info('listening', { addr, tls: config.http.tls !== undefined });
}

main().catch((error: unknown) => {
  console.error(`dtr-api: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

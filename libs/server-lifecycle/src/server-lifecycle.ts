import type { Server } from 'node:http';
import { formatListenAddress, type ListenAddress } from '@dtr-cache/config';
import type { Logger } from '@dtr-cache/logging';

/**
 * Starts listening on a configured address and resolves with the address actually bound
 * (`host:port`, the port filled in when 0 was asked for; or the socket path).
 * @throws the listen error (e.g. EADDRINUSE).
 */
export async function listen(server: Server, address: ListenAddress): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (address.kind === 'unix') server.listen(address.path, resolve);
    else server.listen(address.port, address.host, resolve);
  });
  const bound = server.address();
  return typeof bound === 'object' && bound !== null
    ? formatListenAddress({ kind: 'tcp', host: bound.address, port: bound.port })
    : formatListenAddress(address);
}

/** Options of {@link stopOnSignals}. */
export interface GracefulStopOptions {
  /** How long requests in flight may finish before their connections are closed. */
  drainTimeoutMs: number;
  logger: Logger;
  /** Releases what the service holds once the server is closed; then the process exits 0. */
  release: () => Promise<void> | void;
  /** Ends the process (tests replace it). */
  exit?: (code: number) => void;
}

/**
 * Stops gracefully on SIGTERM or SIGINT: no new connections, idle ones closed, requests in flight
 * given `drainTimeoutMs`, then `release`, a "stopped" log line and exit 0. Register it before
 * listening, so a signal right after start-up is handled too. Returns the stop function.
 */
export function stopOnSignals(
  server: Server,
  options: GracefulStopOptions,
): (signal: string) => void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.logger.info('shutting down', { signal });
    const force = setTimeout(() => server.closeAllConnections(), options.drainTimeoutMs);
    force.unref();
    // Keep-alive connections go idle as their last request finishes: close them right away
    // instead of waiting for the keep-alive timeout.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    sweep.unref();
    server.close(() => {
      clearTimeout(force);
      clearInterval(sweep);
      void Promise.resolve(options.release()).then(() => {
        options.logger.info('stopped');
        (options.exit ?? process.exit)(0);
      });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return stop;
}

/** Logs each configuration warning (a key accepted with no effect, a deprecated spelling) once. */
export function logConfigWarnings(
  logger: Logger,
  warnings: readonly { readonly path: string; readonly message: string }[],
): void {
  for (const warning of warnings)
    logger.warn('configuration key has no effect here', {
      key: warning.path,
      reason: warning.message,
    });
}

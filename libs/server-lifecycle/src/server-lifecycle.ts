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
  /**
   * How long `release` may take before the process exits anyway (default: the drain timeout plus
   * 10 s, as a release may let downloads finish for one more drain timeout).
   */
  releaseTimeoutMs?: number;
}

/** What `release` may take beyond the drain timeout by default before the process exits anyway. */
const RELEASE_MARGIN_MS = 10_000;

/**
 * Stops gracefully on SIGTERM or SIGINT: no new connections, idle ones closed, requests in flight
 * given `drainTimeoutMs`, then `release`, a "stopped" log line and exit 0. A stop is bounded: a
 * `release` that fails, or does not finish within `releaseTimeoutMs`, is logged and the process
 * exits 1 (as the registry does when its drain fails), never staying alive without a listener.
 * Register it before listening, so a signal right after start-up is handled too. Returns the stop
 * function.
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
    const exit = options.exit ?? process.exit;
    // The whole stop is bounded: closing (at most the drain timeout, then connections are cut)
    // and releasing. A stop stuck in either is logged, and the process exits 1.
    const releaseTimeoutMs = options.releaseTimeoutMs ?? options.drainTimeoutMs + RELEASE_MARGIN_MS;
    let stage = 'closing';
    const deadline = setTimeout(() => {
      options.logger.error('stop did not finish in time', { stage, releaseTimeoutMs });
      exit(1);
    }, options.drainTimeoutMs + releaseTimeoutMs);
    deadline.unref();
    server.close(() => {
      clearTimeout(force);
      clearInterval(sweep);
      stage = 'releasing';
      void Promise.resolve()
        .then(() => options.release())
        .then(
          () => {
            clearTimeout(deadline);
            options.logger.info('stopped');
            exit(0);
          },
          (error: unknown) => {
            clearTimeout(deadline);
            options.logger.error('stop failed', { error });
            exit(1);
          },
        );
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

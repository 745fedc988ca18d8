import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ListenAddress } from '@dtr-cache/config';

/** What a container health check asks of a server it runs beside. */
export interface HealthProbe {
  /** The server's configured listen address; an unset host (all interfaces) is probed on loopback. */
  readonly listen: ListenAddress;
  /** Whether the server speaks TLS. Its certificate is not verified: the probe asks itself. */
  readonly tls: boolean;
  /** The path answering 200 while the server is healthy, e.g. `/health`. */
  readonly path: string;
  /** Gives up after this long (default 3 s). */
  readonly timeoutMs?: number;
}

/**
 * Asks a local server for its health. Resolves true for a 200 answer, false for any other status,
 * a connection error or a timeout; never throws.
 */
export function probeHealth(probe: HealthProbe): Promise<boolean> {
  const target =
    probe.listen.kind === 'unix'
      ? { socketPath: probe.listen.path }
      : { host: probe.listen.host ?? '127.0.0.1', port: probe.listen.port };
  const send = probe.tls ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const request = send(
      {
        ...target,
        path: probe.path,
        method: 'GET',
        rejectUnauthorized: false,
        timeout: probe.timeoutMs ?? 3000,
      },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', () => resolve(false));
    request.end();
  });
}

/**
 * The configuration file a container health check should read: its own argument if given, else
 * the last argument of the container's main process (PID 1), which is how both apps are started.
 * @throws Error when neither names a file.
 */
export function healthCheckConfigPath(
  args: readonly string[],
  cmdlineFile = '/proc/1/cmdline',
): string {
  const own = args[0];
  if (own !== undefined) return own;
  const main = readFileSync(cmdlineFile, 'utf8').split('\0').filter(Boolean);
  const last = main.at(-1);
  if (main.length < 2 || last === undefined || last.startsWith('-'))
    throw new Error(`no configuration file: pass its path (PID 1 runs "${main.join(' ')}")`);
  return last;
}

/**
 * The body of an app's container health check command: finds the configuration (see
 * {@link healthCheckConfigPath}), asks `serverOf` where and how the app listens, probes `/health`,
 * and exits 0 when healthy, 1 otherwise (printing why, prefixed with `name`, when it cannot probe).
 */
export async function runHealthCheck(
  name: string,
  serverOf: (configFile: string) => Pick<HealthProbe, 'listen' | 'tls'>,
): Promise<never> {
  try {
    const server = serverOf(healthCheckConfigPath(process.argv.slice(2)));
    process.exit((await probeHealth({ ...server, path: '/health' })) ? 0 : 1);
  } catch (error) {
    process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

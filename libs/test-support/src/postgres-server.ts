import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { workspaceRoot } from './topology';

// A PostgreSQL server of the project's own, for tests and the HA topology: Debian's `postgresql`
// package (installed by tools/setup.mjs when missing), a data folder of its own that the
// `postgres` user can reach (under /tmp: the clone may sit under a 0700 home), its own loopback
// address and port, started as a child process (no system service) and stopped afterwards.

/** The superuser's password of every server this module creates (loopback only, tests only). */
export const POSTGRES_PASSWORD = 'dtr-cache-test';

/** A running server of {@link startPostgres}. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** The server process (the postmaster; every connection's backend is its child). */
  readonly pid: number | undefined;
  /** A URL of the superuser for `database` (default `postgres`). */
  url(database?: string): string;
  /** Stops the server ("fast" shutdown: clients are disconnected) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same data. */
  restart(): Promise<void>;
}

/** True if something accepts TCP connections on `host:port`. */
function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The `bin` folder of the newest PostgreSQL Debian installed. */
function binDirectory(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((name) => existsSync(join(base, name, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) throw new Error('PostgreSQL is not installed (Debian: postgresql)');
  return join(base, newest, 'bin');
}

function ensureInstalled() {
  const setup = spawnSync(
    process.execPath,
    [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'postgres'],
    {
      stdio: 'inherit',
    },
  );
  if (setup.status !== 0) throw new Error('installing PostgreSQL failed');
}

/** The uid and gid to run the server as: `postgres` when root (it refuses to run as root). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/**
 * The server options of TLS only: the certificate and key copied into the data folder (the key
 * readable by the server's user alone, as PostgreSQL demands) and an hba file of `hostssl` lines.
 */
function tlsSettings(
  dataDirectory: string,
  tls: { certificate: string; key: string },
  user: { uid: number; gid: number } | undefined,
): string[] {
  const certificate = join(dataDirectory, 'server.crt');
  const key = join(dataDirectory, 'server.key');
  const hba = join(dataDirectory, 'pg_hba_tls.conf');
  copyFileSync(tls.certificate, certificate);
  copyFileSync(tls.key, key);
  writeFileSync(hba, 'local all all scram-sha-256\nhostssl all all 0.0.0.0/0 scram-sha-256\n');
  for (const file of [certificate, key, hba]) if (user) chownSync(file, user.uid, user.gid);
  chmodSync(key, 0o600);
  return [
    '-c',
    'ssl=on',
    '-c',
    `ssl_cert_file=${certificate}`,
    '-c',
    `ssl_key_file=${key}`,
    '-c',
    `hba_file=${hba}`,
  ];
}

/**
 * Starts a PostgreSQL server on `host:port` with its data in `dataDirectory` (created with
 * `initdb` on first use, kept afterwards unless `fresh`). Durability is relaxed (fsync off) unless
 * `durable`: tests do not need it. With `tls`, it speaks TLS with that certificate and key, and
 * accepts only TLS connections (`hostssl`). Resolves once it accepts connections.
 * @returns `{ url(database), stop(), restart(), host, port }`; `stop` waits for the server to exit.
 * @throws Error if PostgreSQL cannot be installed or does not start within 60 s.
 */
export async function startPostgres({
  host = '127.0.0.1',
  port = 55432,
  dataDirectory = `/tmp/dtr-cache-postgres/${host}-${port}`,
  fresh = true,
  durable = false,
  tls,
}: {
  host?: string;
  port?: number;
  dataDirectory?: string;
  fresh?: boolean;
  /** Keep PostgreSQL's durability (fsync); off by default: tests do not need it. */
  durable?: boolean;
  /** TLS only, with this certificate (chain) and key (PEM files). */
  tls?: { certificate: string; key: string };
} = {}): Promise<PostgresServer> {
  ensureInstalled();
  const bin = binDirectory();
  const user = serverUser();
  // Another server there (a second run of the same suite) must not lose its data folder, nor be
  // taken for the one started here.
  if (await answers(host, port))
    throw new Error(`a server already listens on ${host}:${port}; not starting PostgreSQL there`);
  const parent = dirname(dataDirectory);
  mkdirSync(parent, { recursive: true });
  if (fresh) rmSync(dataDirectory, { recursive: true, force: true });
  if (!existsSync(join(dataDirectory, 'PG_VERSION'))) {
    mkdirSync(dataDirectory, { recursive: true, mode: 0o700 });
    const passwordFile = `${dataDirectory}.password`;
    writeFileSync(passwordFile, `${POSTGRES_PASSWORD}\n`, { mode: 0o600 });
    if (user) {
      chownSync(dataDirectory, user.uid, user.gid);
      chownSync(passwordFile, user.uid, user.gid);
    }
    execFileSync(
      join(bin, 'initdb'),
      [
        '-D',
        dataDirectory,
        '-U',
        'postgres',
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      { ...(user ?? {}), stdio: ['ignore', 'ignore', 'inherit'] },
    );
    rmSync(passwordFile, { force: true });
  }
  const tlsOptions = tls ? tlsSettings(dataDirectory, tls, user) : [];
  const ownsDataDirectory = (pid: number | undefined) => {
    try {
      return (
        readFileSync(join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0] === String(pid)
      );
    } catch {
      return false;
    }
  };
  let server: ChildProcess | undefined;
  const launch = async () => {
    server = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        dataDirectory,
        '-c',
        `listen_addresses=${host}`,
        '-p',
        String(port),
        '-k',
        dataDirectory,
        ...(durable
          ? []
          : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
        '-c',
        'max_connections=300',
        ...tlsOptions,
      ],
      { ...(user ?? {}), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let errors = '';
    const started = server;
    started.stderr?.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = spawnSync(join(bin, 'pg_isready'), ['-q', '-h', host, '-p', String(port)]);
      // Ready, and the server answering is this one (it wrote its pid into its data folder).
      if (ready.status === 0 && started.exitCode === null && ownsDataDirectory(started.pid)) break;
      if (started.exitCode !== null || Date.now() > deadline) {
        started.kill('SIGKILL');
        throw new Error(`PostgreSQL did not start on ${host}:${port}:\n${errors}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const stop = async () => {
    const running = server;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    // SIGINT: "fast" shutdown — clients are disconnected, nothing is waited for.
    running.kill('SIGINT');
    const timer = setTimeout(() => running.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  return {
    host,
    port,
    get pid() {
      return server?.pid;
    },
    url: (database = 'postgres') =>
      `postgres://postgres:${POSTGRES_PASSWORD}@${host}:${port}/${database}`,
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}

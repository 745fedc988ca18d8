#!/usr/bin/env node
// A PostgreSQL server of the project's own, for tests and the HA topology: Debian's `postgresql`
// package (installed by tools/setup.mjs when missing), a data folder of its own that the
// `postgres` user can reach (under /tmp, as the clone may sit under a 0700 home), its own loopback
// address and port, started as a child process (no system service) and stopped afterwards.
//
//   node tools/postgres/postgres.mjs run [--host 127.0.0.1] [--port 55432] -- <command> [args…]
//       starts the server, runs <command> with DTR_CACHE_POSTGRES_URL set, stops the server and
//       exits with <command>'s code
//
// As a module: startPostgres({ host, port }) resolves to a running server (see its TSDoc).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The superuser's password of every server this script creates (loopback only, tests only). */
export const POSTGRES_PASSWORD = 'dtr-cache-test';

function log(message) {
  process.stderr.write(`postgres: ${message}\n`);
}

/** The `bin` folder of the newest PostgreSQL Debian installed. */
function binDirectory() {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((name) => existsSync(join(base, name, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (Debian: postgresql)');
  return join(base, versions[0], 'bin');
}

function ensureInstalled() {
  const setup = spawnSync(
    process.execPath,
    [join(root, 'tools', 'setup.mjs'), '--apt', 'postgres'],
    {
      stdio: 'inherit',
    },
  );
  if (setup.status !== 0) throw new Error('installing PostgreSQL failed');
}

/** The uid and gid to run the server as: `postgres` when root (it refuses to run as root). */
function serverUser() {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/**
 * Starts a PostgreSQL server on `host:port` with its data in `dataDirectory` (created with
 * `initdb` on first use, kept afterwards unless `fresh`). Durability is relaxed (fsync off): it is
 * for tests. Resolves once it accepts connections.
 * @returns `{ url(database), stop(), restart(), host, port }`; `stop` waits for the server to exit.
 * @throws Error if PostgreSQL cannot be installed or does not start within 60 s.
 */
export async function startPostgres({
  host = '127.0.0.1',
  port = 55432,
  dataDirectory = `/tmp/dtr-cache-postgres/${host}-${port}`,
  fresh = true,
} = {}) {
  ensureInstalled();
  const bin = binDirectory();
  const user = serverUser();
  const parent = dirname(dataDirectory);
  mkdirSync(parent, { recursive: true });
  if (fresh) rmSync(dataDirectory, { recursive: true, force: true });
  if (!existsSync(join(dataDirectory, 'PG_VERSION'))) {
    mkdirSync(dataDirectory, { recursive: true, mode: 0o700 });
    const passwordFile = `${dataDirectory}.password`;
    writeFileSync(passwordFile, `${POSTGRES_PASSWORD}\n`, { mode: 0o600 });
    if (user.uid !== undefined) {
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
      { ...user, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    rmSync(passwordFile, { force: true });
  }
  let server;
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
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=300',
      ],
      { ...user, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let errors = '';
    server.stderr.on('data', (chunk) => {
      errors = (errors + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = spawnSync(join(bin, 'pg_isready'), ['-q', '-h', host, '-p', String(port)]);
      if (ready.status === 0) break;
      if (server.exitCode !== null || Date.now() > deadline) {
        server.kill('SIGKILL');
        throw new Error(`PostgreSQL did not start on ${host}:${port}:\n${errors}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const stop = async () => {
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    // SIGINT: "fast" shutdown — clients are disconnected, nothing is waited for.
    server.kill('SIGINT');
    const timer = setTimeout(() => server.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  return {
    host,
    port,
    url: (database = 'postgres') =>
      `postgres://postgres:${POSTGRES_PASSWORD}@${host}:${port}/${database}`,
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const args = process.argv.slice(2);
  const separator = args.indexOf('--');
  const option = (name, fallback) => {
    const index = args.indexOf(`--${name}`);
    return index !== -1 && index < separator ? args[index + 1] : fallback;
  };
  if (args[0] !== 'run' || separator === -1 || separator === args.length - 1) {
    log('usage: postgres.mjs run [--host H] [--port P] -- <command> [args…]');
    process.exit(2);
  }
  const server = await startPostgres({
    host: option('host', '127.0.0.1'),
    port: Number(option('port', '55432')),
  });
  log(`ready at ${server.host}:${server.port}`);
  const command = args.slice(separator + 1);
  const child = spawn(command[0], command.slice(1), {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, DTR_CACHE_POSTGRES_URL: server.url() },
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  const code = await new Promise((resolve) => child.once('exit', (status) => resolve(status ?? 1)));
  await server.stop();
  process.exit(code);
}

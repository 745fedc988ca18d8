/**
 * docker compose's `ha` profile, as the setup and init steps see it: the configurations of
 * PostgreSQL, the three DTR replicas and nginx (the builders `npm run start:ha` uses, see
 * ha-config.ts), and the waits for those servers. Replica 1 is the always-on `dtr` service (its
 * configuration is `dtr.yml`); `dtr-2` and `dtr-3` exist in the profile only.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CONFIG } from './compose-layout';
import { haLayout, nginxConfig, replicaConfig } from './ha-config';
import { type dtrConfig, dtrUrlOf, type Layout, waitReady } from './topology';

/** PostgreSQL's address, port, user and database, which the postgres image's entrypoint reads. */
export const POSTGRES_ENV = join(CONFIG, 'postgres.env');
/** The database user's password, read by the postgres image's entrypoint on its first start. */
export const POSTGRES_PASSWORD_FILE = join(CONFIG, 'postgres-password');
/** nginx's folder for its pid, logs and buffers (tools/docker/nginx.Dockerfile makes it). */
const NGINX_RUNTIME = '/var/lib/nginx/dtr';
const DATABASE = 'dtr';
const DATABASE_USER = 'dtr';

/** The replicas with the compose service that runs each and its configuration file. */
export function composeReplicas(topology: Layout) {
  return haLayout(topology).replicas.map((replica, index) => ({
    ...replica,
    service: index === 0 ? 'dtr' : replica.name,
    config: join(CONFIG, index === 0 ? 'dtr.yml' : `${replica.name}.yml`),
  }));
}

/** The database password: the one a previous run made (the database has it), else a new one. */
function databasePassword(): string {
  if (existsSync(POSTGRES_PASSWORD_FILE))
    return readFileSync(POSTGRES_PASSWORD_FILE, 'utf8').trim();
  const password = randomBytes(18).toString('base64url');
  writeFileSync(POSTGRES_PASSWORD_FILE, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * Writes what the `ha` profile's servers read: PostgreSQL's settings and password, the replicas'
 * configurations (DTR's, on PostgreSQL, plain HTTP on their own ports, sharing `/var/lib/dtr`) and
 * nginx's (TLS with DTR's certificate at DTR's address, round-robin over the replicas).
 */
export function writeHaConfigs(topology: Layout, dtrFiles: Parameters<typeof dtrConfig>[1]): void {
  const { postgres } = haLayout(topology);
  const password = databasePassword();
  const settings = {
    POSTGRES_HOST: postgres.host,
    POSTGRES_PORT: String(postgres.port),
    POSTGRES_USER: DATABASE_USER,
    POSTGRES_DB: DATABASE,
  };
  writeFileSync(
    POSTGRES_ENV,
    Object.entries(settings)
      .map(([name, value]) => `${name}='${value}'\n`)
      .join(''),
  );
  const databaseUrl = `postgres://${DATABASE_USER}:${encodeURIComponent(password)}@${postgres.host}:${postgres.port}/${DATABASE}`;
  const replicas = composeReplicas(topology);
  for (const replica of replicas)
    writeFileSync(replica.config, replicaConfig(topology, replica, { ...dtrFiles, databaseUrl }));
  writeFileSync(
    join(CONFIG, 'nginx.conf'),
    nginxConfig(topology, replicas, {
      certificate: dtrFiles.certificate,
      key: dtrFiles.key,
      runtime: NGINX_RUNTIME,
    }),
  );
}

/**
 * True if PostgreSQL at `host:port` takes connections: it answers a startup message by asking for
 * the password (`R`), not with an error (`E`, e.g. while it starts) — what pg_isready checks.
 */
function postgresAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answers: boolean) => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      const parameters = Buffer.from(`user\0${DATABASE_USER}\0database\0${DATABASE}\0\0`);
      const header = Buffer.alloc(8);
      header.writeInt32BE(header.length + parameters.length, 0);
      header.writeInt32BE(3 << 16, 4); // protocol 3.0
      socket.write(Buffer.concat([header, parameters]));
    });
    socket.once('data', (answer: Buffer) => done(answer[0] === 'R'.charCodeAt(0)));
  });
}

/**
 * Waits until the `ha` profile's PostgreSQL takes connections, so replica 1 (the `dtr` service,
 * which starts once setup is done) finds its database.
 * @throws Error after `timeoutMs`, saying which service runs PostgreSQL.
 */
export async function waitForPostgres(topology: Layout, timeoutMs = 180_000): Promise<void> {
  const { host, port } = haLayout(topology).postgres;
  const deadline = Date.now() + timeoutMs;
  while (!(await postgresAnswers(host, port))) {
    if (Date.now() > deadline)
      throw new Error(
        `PostgreSQL does not answer at ${host}:${port}: COMPOSE_PROFILES names the ha profile, ` +
          'whose postgres service runs it (docker compose logs postgres)',
      );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Waits until every replica answers on its own port and DTR answers through nginx.
 * @throws Error naming the first server that did not within `timeoutMs`.
 */
export async function waitForReplicas(
  topology: Layout,
  cas: Buffer[],
  timeoutMs = 180_000,
): Promise<void> {
  for (const replica of composeReplicas(topology))
    await waitReady(replica.service, `http://${replica.host}:${replica.port}/health`, cas, {
      timeoutMs,
    });
  await waitReady('nginx', `${dtrUrlOf(topology)}/health`, cas, { timeoutMs });
}

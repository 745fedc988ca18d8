/**
 * The control plane of `npm run start:ha`: PostgreSQL, three DTR replicas and nginx in front of
 * them at the one DTR address (round-robin, no stickiness; TLS ends at nginx). The replicas share
 * the database, the storage root and the token key file, as replicas on several hosts share a
 * database server and a volume.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres } from '@dtr-cache/test-support';
import type { Supervisor } from './supervisor';
import { haLayout, nginxConfig, replicaConfig } from './ha-config';
import { type dtrConfig, type Layout, waitReady } from './topology';

/** What {@link startHaControlPlane} started. */
export interface HaControlPlane {
  readonly postgres: { host: string; port: number; url: string; dataDirectory: string };
  readonly replicas: ReadonlyArray<{ name: string; url: string; config: string; log: string }>;
}

/**
 * Starts PostgreSQL (data kept between starts, in a folder the `postgres` user can reach), then
 * the replicas — the first alone (it creates the schema, the administrator and the token key),
 * then the others — and nginx, and waits until DTR answers through nginx.
 */
export async function startHaControlPlane(options: {
  /** Called once PostgreSQL runs, with how to stop it (also if a later step fails). */
  onPostgresStarted: (stop: () => Promise<void>) => void;
  topology: Layout;
  supervisor: Supervisor;
  data: string;
  dtrFiles: Parameters<typeof dtrConfig>[1];
  cas: Buffer[];
  runtime: { nodeOptions: string[]; env: Record<string, string> };
  dtrBin: string;
}): Promise<HaControlPlane> {
  const { topology, supervisor, data } = options;
  const layout = haLayout(topology);
  // Under /var/tmp, keyed by the data folder: the clone (and ./data) may sit under a 0700 home.
  const dataDirectory = join(
    '/var/tmp/dtr-cache-ha',
    createHash('sha256').update(data).digest('hex').slice(0, 16),
    'postgres',
  );
  const postgres = await startPostgres({
    ...layout.postgres,
    dataDirectory,
    fresh: false,
    durable: true,
  });
  options.onPostgresStarted(() => postgres.stop());
  const url = postgres.url();
  const configDir = join(data, 'config');
  mkdirSync(configDir, { recursive: true });
  const replicas = layout.replicas.map((replica) => {
    const config = join(configDir, `${replica.name}.yml`);
    writeFileSync(
      config,
      replicaConfig(topology, replica, { ...options.dtrFiles, databaseUrl: url }),
    );
    return { ...replica, url: `http://${replica.host}:${replica.port}`, config };
  });
  const startReplica = (replica: (typeof replicas)[number]) =>
    supervisor.start(
      replica.name,
      [...options.runtime.nodeOptions, options.dtrBin, replica.config],
      options.runtime.env,
    );
  const cancelled = () => supervisor.stopping;
  const [first, ...others] = replicas;
  if (!first) throw new Error('no replicas');
  startReplica(first);
  await waitReady(first.name, `${first.url}/health`, options.cas, { cancelled });
  for (const replica of others) startReplica(replica);
  for (const replica of others)
    await waitReady(replica.name, `${replica.url}/health`, options.cas, { cancelled });
  const runtimeDir = join(data, 'nginx');
  for (const folder of ['client-body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(runtimeDir, folder), { recursive: true });
  const nginxConf = join(configDir, 'nginx.conf');
  writeFileSync(
    nginxConf,
    nginxConfig(topology, replicas, {
      certificate: options.dtrFiles.certificate,
      key: options.dtrFiles.key,
      runtime: runtimeDir,
    }),
  );
  supervisor.start('nginx', ['-c', nginxConf, '-g', 'daemon off;'], {}, '/usr/sbin/nginx');
  return {
    postgres: { ...layout.postgres, url, dataDirectory },
    replicas: replicas.map((replica) => ({
      name: replica.name,
      url: replica.url,
      config: replica.config,
      log: supervisor.logFile(replica.name),
    })),
  };
}

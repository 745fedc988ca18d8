/**
 * `npm start`: the full local topology as processes, on an embedded default (SQLite, local disk,
 * everything under one data folder, `./data` or `$DTR_DATA`):
 *
 *   DTR            https://127.0.0.10:5443   (dtr-api; TLS with its own local CA)
 *   region-us      http://127.0.0.11:5000    (simple.yml: pulls from DTR; a group of two members,
 *                  http://127.0.0.14:5000     the second `region-us-2`; network 127.0.0.0/8)
 *   san-francisco  https://127.0.0.12:5000   (chain-san-francisco.yml: pulls from DTR)
 *   los-angeles    https://127.0.0.13:5000   (chain-los-angeles.yml: pulls from san-francisco)
 *
 * The cache configurations are the reference files with only hosts, ports and paths replaced. The
 * caches are registered with `POST /api/v0/content_caches`, and a demo user has los-angeles selected.
 * region-us serves the network 127.0.0.0/8, so a user without a setting pulls through it (DTR sends
 * each blob to one of its two members by the blob's digest).
 * Prints the endpoints only once DTR itself judges every member of every cache healthy (its API's
 * view: until then it serves blobs directly), waiting at most 60 s (TOPOLOGY_CACHE_HEALTH_TIMEOUT,
 * seconds) and then naming each member it does not judge healthy, and why. With them it prints a
 * ready image to push (`<data>/images/hello.tar`) and pull commands for skopeo, podman, docker and
 * ctr with the certificate folders they need (client-setup.ts).
 * Prints the endpoints and writes them to `<data>/endpoints.json`; Ctrl-C stops everything; a second
 * start reuses the data (and the generated passwords in `<data>/credentials.json`). A server that
 * exits on its own is restarted after a backoff (supervisor.ts); the pids of the servers running
 * are kept in `<data>/pids.json`.
 *
 * `npm run start:ha` (`--ha`): the same, with DTR's control plane as a company runs it —
 * PostgreSQL, three DTR replicas (dtr-1…3 on ports 5451-5453 of DTR's address, plain HTTP) and
 * nginx in front of them at the one DTR address (round-robin, no stickiness); see ha.ts.
 *
 * DTR_HOST moves DTR (the caches follow on the next four addresses, unless REGION_US_HOST,
 * SAN_FRANCISCO_HOST, LOS_ANGELES_HOST or REGION_US_2_HOST say otherwise); tests run topologies side by side. For
 * tests only, TOPOLOGY_BLOBTTL replaces the reference files' `blobttl: 24h`; DTR's own keys take
 * DTR_API_* overrides as usual.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  cacheConfigs,
  membersOf,
  memberUrlOf,
  serverRuntime,
  cacheUrlOf,
  credentials,
  DEMO_CACHE,
  dtrConfig,
  dtrUrlOf,
  generateCertificates,
  layoutFromEnv,
  provision,
  TLS_SERVERS,
  type User,
  waitReady,
  workspaceRoot as root,
} from './topology';
import {
  CACHE_HEALTH_TIMEOUT_MS,
  describeUnhealthy,
  type UnhealthyMember,
  waitForCacheHealth,
} from './cache-health';
import { bannerText } from './banner';
import { writeClientSetup } from './client-setup';
import { type HaControlPlane, startHaControlPlane } from './ha';
import { Supervisor } from './supervisor';

const data = resolve(process.env['DTR_DATA'] ?? join(root, 'data'));
const ha = process.argv.includes('--ha');
let controlPlane: HaControlPlane | undefined;
/** How to stop PostgreSQL once it runs (start:ha). */
let stopPostgres: (() => Promise<void>) | undefined;
const topology = layoutFromEnv(process.env, '127.0.0.10', { regionUsGroup: true });
const CACHES = topology.caches;
const dtrUrl = dtrUrlOf(topology);
const certs = join(data, 'certs');
/** Each TLS server gets its own local CA, so each hop trusts exactly the CA of its next hop. */
const caOf = (name: string) => join(certs, name, 'ca.pem');
/**
 * How long to wait for DTR to judge every cache healthy before the banner
 * (TOPOLOGY_CACHE_HEALTH_TIMEOUT, in seconds).
 */
const healthTimeoutMs = process.env['TOPOLOGY_CACHE_HEALTH_TIMEOUT']
  ? Number(process.env['TOPOLOGY_CACHE_HEALTH_TIMEOUT']) * 1000
  : CACHE_HEALTH_TIMEOUT_MS;
if (!(healthTimeoutMs >= 0))
  throw new Error('TOPOLOGY_CACHE_HEALTH_TIMEOUT must be a number of seconds');

function log(message: string): void {
  process.stdout.write(`start: ${message}\n`);
}

/** DTR's files (a single DTR, or each replica of the HA control plane). */
const dtrFiles = (adminPassword: string) => ({
  data: join(data, 'dtr'),
  certificate: join(certs, 'dtr', 'dtr.pem'),
  key: join(certs, 'dtr', 'dtr-key.pem'),
  ca: caOf('dtr'),
  cacheCas: [caOf('san-francisco'), caOf('los-angeles')],
  adminPassword,
});

function writeConfigs(adminPassword: string): void {
  mkdirSync(join(data, 'config'), { recursive: true });
  const configs = cacheConfigs(
    topology,
    (cache, member) => ({
      '/var/lib/registry': join(data, member.name, 'storage'),
      ...(cache.name === 'los-angeles'
        ? {
            [`/certs/los-angeles-ca.pem`]: join(certs, 'los-angeles', 'los-angeles.pem'),
            [`/certs/los-angeles-key.pem`]: join(certs, 'los-angeles', 'los-angeles-key.pem'),
            // In los-angeles's file this path is the CA it trusts: san-francisco's.
            '/certs/san-francisco-ca.pem': caOf('san-francisco'),
          }
        : {
            '/certs/dtr-ca.pem': caOf('dtr'),
            ...(cache.tls
              ? {
                  [`/certs/${cache.name}-ca.pem`]: join(certs, cache.name, `${cache.name}.pem`),
                  [`/certs/${cache.name}-key.pem`]: join(
                    certs,
                    cache.name,
                    `${cache.name}-key.pem`,
                  ),
                }
              : {}),
          }),
    }),
    { blobTtl: process.env['TOPOLOGY_BLOBTTL'] },
  );
  for (const [name, text] of Object.entries(configs))
    writeFileSync(join(data, 'config', `${name}.yml`), text);
  writeFileSync(join(data, 'config', 'dtr.yml'), dtrConfig(topology, dtrFiles(adminPassword)));
}

const pidsFile = join(data, 'pids.json');
/** Keeps `<data>/pids.json` current: the pid of each server running now (replaced atomically). */
function writePids(): void {
  try {
    writeFileSync(`${pidsFile}.tmp`, `${JSON.stringify(supervisor.pids(), null, 2)}\n`);
    renameSync(`${pidsFile}.tmp`, pidsFile);
  } catch (error) {
    // Supervision goes on without it.
    log(`cannot write ${pidsFile}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const supervisor = new Supervisor({
  logs: join(data, 'logs'),
  onEvent: (event) => {
    if (event.kind === 'exited') {
      log(
        `${event.name} exited (${event.reason}); restarting in ${event.restartInMs / 1000}s` +
          ` (see ${supervisor.logFile(event.name)})`,
      );
    } else if (event.restart) {
      log(`${event.name} restarted (pid ${event.pid})`);
    }
    writePids();
  },
});

async function stopAll(exitCode: number): Promise<void> {
  if (supervisor.stopping) return;
  log('stopping');
  await supervisor.stopAll();
  await stopPostgres?.();
  rmSync(pidsFile, { force: true });
  log('stopped');
  process.exit(exitCode);
}

/** The local CAs (after they were generated). */
const localCas = () => TLS_SERVERS.map((name) => readFileSync(caOf(name)));

async function main(): Promise<void> {
  const users = credentials(join(data, 'credentials.json'));
  generateCertificates(certs, {
    dtr: [topology.dtr.host, 'localhost'],
    'san-francisco': [CACHES[1].host],
    'los-angeles': [CACHES[2].host],
  });
  const cas = localCas();
  writeConfigs(users.admin.password);
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));
  process.once('SIGHUP', () => void stopAll(0));
  // If whatever started this dies without a signal to it (a killed terminal or test runner), the
  // servers must not outlive it: this process is then re-parented.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      log('the parent process is gone');
      void stopAll(1);
    }
  }, 1000).unref();

  // Each server with the Node options and environment its launcher would add (bin/*.mjs): one
  // process each, as in the container images.
  const dtrRuntime = serverRuntime('dtr-api');
  const dtrBin = join(root, 'apps', 'dtr-api', 'bin', 'dtr-api.mjs');
  if (ha) {
    controlPlane = await startHaControlPlane({
      onPostgresStarted: (stop) => (stopPostgres = stop),
      topology,
      supervisor,
      data,
      dtrFiles: dtrFiles(users.admin.password),
      cas,
      runtime: dtrRuntime,
      dtrBin,
    });
  } else {
    supervisor.start(
      'dtr',
      [...dtrRuntime.nodeOptions, dtrBin, join(data, 'config', 'dtr.yml')],
      dtrRuntime.env,
    );
  }
  await waitReady('dtr', `${dtrUrl}/health`, cas, { cancelled: () => supervisor.stopping });
  const runtime = serverRuntime('content-cache');
  const members = CACHES.flatMap((cache) =>
    membersOf(cache).map((member) => ({ ...member, url: memberUrlOf(cache, member) })),
  );
  for (const member of members) {
    supervisor.start(
      member.name,
      [
        ...runtime.nodeOptions,
        join(root, 'apps', 'content-cache', 'bin', 'content-cache.mjs'),
        join(data, 'config', `${member.name}.yml`),
      ],
      runtime.env,
    );
  }
  for (const member of members)
    await waitReady(member.name, `${member.url}/health`, cas, {
      cancelled: () => supervisor.stopping,
    });
  if (supervisor.stopping) return;

  await provision(topology, users, cas);
  const unhealthy = await waitForCacheHealth(dtrServers(), users.admin, cas, {
    timeoutMs: healthTimeoutMs,
    cancelled: () => supervisor.stopping,
    onWaiting: (waiting) =>
      log(
        `waiting up to ${healthTimeoutMs / 1000}s for DTR to judge every content cache healthy:` +
          `\n  ${describeHealth(waiting).join('\n  ')}`,
      ),
  });
  if (supervisor.stopping) return;
  const clients = writeClientSetup(
    data,
    `${topology.dtr.host}:${topology.dtr.port}`,
    Object.fromEntries(TLS_SERVERS.map((name) => [name, caOf(name)])),
    users.demo,
  );

  const endpoints = {
    dtr: {
      url: dtrUrl,
      ca: caOf('dtr'),
      ui: `${dtrUrl}/`,
      apiDocs: `${dtrUrl}/api/docs`,
      metrics: `${dtrUrl}/metrics`,
      ...(controlPlane
        ? {
            loadBalancer: 'nginx (round-robin)',
            replicas: controlPlane.replicas,
            postgres: controlPlane.postgres,
          }
        : {}),
    },
    caches: Object.fromEntries(
      CACHES.map((cache) => [
        cache.name,
        {
          url: cacheUrlOf(cache),
          members: membersOf(cache).map((member) => ({
            name: member.name,
            url: memberUrlOf(cache, member),
            log: join(data, 'logs', `${member.name}.log`),
          })),
          networks: cache.networks,
          config: join(data, 'config', `${cache.name}.yml`),
          metrics: `${cacheUrlOf(cache)}/metrics`,
          log: join(data, 'logs', `${cache.name}.log`),
          ...(cache.tls ? { ca: caOf(cache.name) } : {}),
        },
      ]),
    ),
    users,
    demoCache: DEMO_CACHE,
    cacheHealth: { healthy: unhealthy.length === 0, unhealthy: describeHealth(unhealthy) },
    clients,
    clientCertDir: join(certs, 'clients'),
    data,
  };
  writeFileSync(join(data, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);
  if (unhealthy.length > 0) watchCacheHealth(users.admin, cas);
  process.stdout.write(
    bannerText({
      data,
      dtrUrl,
      caches: CACHES,
      controlPlane,
      users,
      clients,
      warning: healthLines(unhealthy),
      endpointsFile: join(data, 'endpoints.json'),
    }),
  );
}

/** The DTR servers that judge the caches: each replica behind nginx, or the one DTR. */
const dtrServers = () =>
  controlPlane ? controlPlane.replicas.map((replica) => replica.url) : [dtrUrl];

/** The name of the member registered as `host` (its URL), if it is one of the topology's. */
function memberNameOf(host: string): string | undefined {
  for (const cache of CACHES)
    for (const member of membersOf(cache))
      if (memberUrlOf(cache, member) === host) return member.name;
  return undefined;
}

const describeHealth = (unhealthy: readonly UnhealthyMember[]) =>
  describeUnhealthy(unhealthy, memberNameOf, { showServer: controlPlane !== undefined });

/** The banner's warning when the wait for the caches' health ended at its bound. */
function healthLines(unhealthy: readonly UnhealthyMember[]): string {
  if (unhealthy.length === 0) return '';
  return `WARNING: after ${healthTimeoutMs / 1000}s DTR still does not judge these content caches healthy; their
blobs go to another member of their group or come from DTR directly (see ${dtrUrl}/api/v0/content_caches):
  ${describeHealth(unhealthy).join('\n  ')}

`;
}

/** After a banner with a warning: says so once DTR judges every cache healthy after all. */
function watchCacheHealth(admin: User, cas: Buffer[]): void {
  waitForCacheHealth(dtrServers(), admin, cas, {
    timeoutMs: Number.POSITIVE_INFINITY,
    pollMs: 2000,
    cancelled: () => supervisor.stopping,
  }).then(
    () => {
      if (!supervisor.stopping) log('DTR now judges every content cache healthy');
    },
    (error: unknown) => log(`watching the caches' health stopped: ${String(error)}`),
  );
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  void stopAll(1);
});

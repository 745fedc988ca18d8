/**
 * docker compose's `init` step (runs once DTR and the caches are healthy): registers the caches
 * with `POST /api/v0/content_caches`, creates the demo user with los-angeles selected, and prints
 * what a person needs. Idempotent, like `npm start`'s provisioning, which it shares. With the `ha`
 * profile (as setup configured it) it first waits for every replica and for nginx. It ends once
 * DTR (each replica) judges every cache healthy, so that pulls go through them from then on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeUnhealthy, waitForCacheHealth } from './cache-health';
import { composeReplicas, waitForReplicas } from './compose-ha';
import { CERTS, composeLayout, CONFIG, configuredMode } from './compose-layout';
import { haLayout } from './ha-config';
import {
  cacheUrlOf,
  type Credentials,
  DEMO_CACHE,
  dtrUrlOf,
  provision,
  TLS_SERVERS,
} from './topology';

const topology = composeLayout(process.env);
const ha = configuredMode() === 'ha';
const users = JSON.parse(readFileSync(join(CONFIG, 'credentials.json'), 'utf8')) as Credentials;
const cas = TLS_SERVERS.map((name) => readFileSync(join(CERTS, 'generated', name, 'ca.pem')));

try {
  if (ha) await waitForReplicas(topology, cas);
  await provision(topology, users, cas);
  const unhealthy = await waitForCacheHealth(
    ha
      ? composeReplicas(topology).map((replica) => `http://${replica.host}:${replica.port}`)
      : [dtrUrlOf(topology)],
    users.admin,
    cas,
    { timeoutMs: 180_000 },
  );
  if (unhealthy.length > 0)
    throw new Error(
      `DTR does not judge every content cache healthy:\n  ${describeUnhealthy(unhealthy, () => undefined, { showServer: ha }).join('\n  ')}`,
    );
} catch (error) {
  process.stderr.write(`init: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
const dtrUrl = dtrUrlOf(topology);
const registry = `${topology.dtr.host}:${topology.dtr.port}`;
const postgres = haLayout(topology).postgres;
const controlPlane = ha
  ? [
      `  DTR             ${dtrUrl}/   (nginx: round-robin over the replicas; its CA at ${dtrUrl}/ca)`,
      ...composeReplicas(topology).map(
        (replica) =>
          `  ${replica.name.padEnd(15)} http://${replica.host}:${replica.port}   (docker compose logs ${replica.service})`,
      ),
      `  PostgreSQL      ${postgres.host}:${postgres.port}   (docker compose logs postgres)`,
    ]
  : [
      `  DTR             ${dtrUrl}/   (web UI; API docs at ${dtrUrl}/api/docs; its CA at ${dtrUrl}/ca)`,
    ];
process.stdout.write(`
DTR and its content caches are running.

${controlPlane.join('\n')}
${topology.caches.map((cache) => `  ${cache.name.padEnd(15)} ${cacheUrlOf(cache)}   (docker compose logs ${cache.name})`).join('\n')}

  administrator   ${users.admin.username} / ${users.admin.password}
  demo user       ${users.demo.username} / ${users.demo.password}   (content cache: ${DEMO_CACHE}, via san-francisco)

  docker login ${registry} -u ${users.demo.username}
  docker pull ${registry}/${users.demo.username}/<repository>:<tag>
`);

/**
 * docker compose's `init` step (runs once DTR and the caches are healthy): registers the caches
 * with `POST /api/v0/content_caches`, creates the demo user with los-angeles selected, and prints
 * what a person needs. Idempotent, like `npm start`'s provisioning, which it shares.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CERTS, composeLayout, CONFIG } from './compose-layout';
import {
  cacheUrlOf,
  type Credentials,
  DEMO_CACHE,
  dtrUrlOf,
  provision,
  TLS_SERVERS,
} from './topology';

const topology = composeLayout(process.env);
const users = JSON.parse(readFileSync(join(CONFIG, 'credentials.json'), 'utf8')) as Credentials;
const cas = TLS_SERVERS.map((name) => readFileSync(join(CERTS, 'generated', name, 'ca.pem')));

try {
  await provision(topology, users, cas);
} catch (error) {
  process.stderr.write(`init: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
const dtrUrl = dtrUrlOf(topology);
const registry = `${topology.dtr.host}:${topology.dtr.port}`;
process.stdout.write(`
DTR and its content caches are running.

  DTR             ${dtrUrl}/   (web UI; API docs at ${dtrUrl}/api/docs; its CA at ${dtrUrl}/ca)
${topology.caches.map((cache) => `  ${cache.name.padEnd(15)} ${cacheUrlOf(cache)}   (docker compose logs ${cache.name})`).join('\n')}

  administrator   ${users.admin.username} / ${users.admin.password}
  demo user       ${users.demo.username} / ${users.demo.password}   (content cache: ${DEMO_CACHE}, via san-francisco)

  docker login ${registry} -u ${users.demo.username}
  docker pull ${registry}/${users.demo.username}/<repository>:<tag>
`);

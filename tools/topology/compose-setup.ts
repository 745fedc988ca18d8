/**
 * docker compose's `setup` step (runs once, in the dtr-api image, before the servers start):
 * creates the local CAs and certificates in the `certs` volume under the names the reference
 * configurations use, the passwords, and every server's configuration in the `config` volume.
 * The cache configurations are the reference files with only the hosts replaced; their paths
 * (`/certs/…`, `/var/lib/registry`) are used as they are. Reuses what a previous run created.
 *
 * With the `ha` profile (COMPOSE_PROFILES names it) DTR's configuration is replica 1's, on
 * PostgreSQL, and the other replicas', PostgreSQL's and nginx's are written too (compose-ha.ts);
 * setup then waits until PostgreSQL takes connections, so replica 1 finds it. A project's volumes
 * stay in the mode they were set up in: switching (SQLite ↔ PostgreSQL) is refused.
 *
 * Environment: DTR_HOST and optionally REGION_US_HOST, SAN_FRANCISCO_HOST, LOS_ANGELES_HOST (on the
 * host network), DTR_ADMIN_PASSWORD and DTR_DEMO_PASSWORD (generated when empty), COMPOSE_PROFILES.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForPostgres, writeHaConfigs } from './compose-ha';
import {
  CERTS,
  composeLayout,
  CONFIG,
  configuredMode,
  MODE_FILE,
  requestedMode,
} from './compose-layout';
import { cacheConfigs, credentials, dtrConfig, generateCertificates } from './topology';

const topology = composeLayout(process.env);
const mode = requestedMode(process.env);
const previous = configuredMode();
if (previous !== undefined && previous !== mode) {
  const described = { single: 'one DTR on SQLite', ha: 'DTR replicas on PostgreSQL' };
  const asBefore = { single: 'without the ha profile', ha: 'with COMPOSE_PROFILES=ha' };
  process.stderr.write(
    `setup: this project's volumes hold ${described[previous]}, but COMPOSE_PROFILES asks for ` +
      `${described[mode]}. Start it ${asBefore[previous]} as before, or remove its volumes ` +
      'first (docker compose down -v) or use another project name (-p).\n',
  );
  process.exit(1);
}
const [, sanFrancisco, losAngeles] = topology.caches;
const users = credentials(join(CONFIG, 'credentials.json'), {
  admin: process.env['DTR_ADMIN_PASSWORD'],
  demo: process.env['DTR_DEMO_PASSWORD'],
});

const generated = join(CERTS, 'generated');
generateCertificates(generated, {
  dtr: [topology.dtr.host, 'localhost'],
  'san-francisco': [sanFrancisco.host],
  'los-angeles': [losAngeles.host],
});
// The reference names: `<name>-ca.pem` is a cache's certificate chain (its certificate and its CA),
// which is also what the next hop trusts (`cas`); `dtr-ca.pem` is DTR's CA.
copyFileSync(join(generated, 'dtr', 'ca.pem'), join(CERTS, 'dtr-ca.pem'));
for (const name of ['dtr', 'san-francisco', 'los-angeles']) {
  const chain = join(generated, name, `${name}.pem`);
  copyFileSync(chain, join(CERTS, name === 'dtr' ? 'dtr.pem' : `${name}-ca.pem`));
  copyFileSync(join(generated, name, `${name}-key.pem`), join(CERTS, `${name}-key.pem`));
}

mkdirSync(CONFIG, { recursive: true });
for (const [name, text] of Object.entries(cacheConfigs(topology, () => ({}))))
  writeFileSync(join(CONFIG, `${name}.yml`), text);
const dtrFiles = {
  data: '/var/lib/dtr',
  certificate: join(CERTS, 'dtr.pem'),
  key: join(CERTS, 'dtr-key.pem'),
  ca: join(CERTS, 'dtr-ca.pem'),
  cacheCas: [join(CERTS, 'san-francisco-ca.pem'), join(CERTS, 'los-angeles-ca.pem')],
  adminPassword: users.admin.password,
};
if (mode === 'ha') writeHaConfigs(topology, dtrFiles);
else writeFileSync(join(CONFIG, 'dtr.yml'), dtrConfig(topology, dtrFiles));
writeFileSync(MODE_FILE, `${mode}\n`);
process.stdout.write(`setup: certificates and configurations are ready (${mode})\n`);
if (mode === 'ha') {
  try {
    await waitForPostgres(topology);
  } catch (error) {
    process.stderr.write(`setup: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  process.stdout.write('setup: PostgreSQL takes connections\n');
}

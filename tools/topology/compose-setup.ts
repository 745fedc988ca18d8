/**
 * docker compose's `setup` step (runs once, in the dtr-api image, before the servers start):
 * creates the local CAs and certificates in the `certs` volume under the names the reference
 * configurations use, the passwords, and every server's configuration in the `config` volume.
 * The cache configurations are the reference files with only the hosts replaced; their paths
 * (`/certs/…`, `/var/lib/registry`) are used as they are. Reuses what a previous run created.
 *
 * Environment: DTR_HOST and optionally REGION_US_HOST, SAN_FRANCISCO_HOST, LOS_ANGELES_HOST (on the
 * host network), DTR_ADMIN_PASSWORD and DTR_DEMO_PASSWORD (generated when empty).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeLayout, CONFIG, CERTS } from './compose-layout';
import { cacheConfigs, credentials, dtrConfig, generateCertificates } from './topology';

const topology = composeLayout(process.env);
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
writeFileSync(
  join(CONFIG, 'dtr.yml'),
  dtrConfig(topology, {
    data: '/var/lib/dtr',
    certificate: join(CERTS, 'dtr.pem'),
    key: join(CERTS, 'dtr-key.pem'),
    ca: join(CERTS, 'dtr-ca.pem'),
    cacheCas: [join(CERTS, 'san-francisco-ca.pem'), join(CERTS, 'los-angeles-ca.pem')],
    adminPassword: users.admin.password,
  }),
);
process.stdout.write('setup: certificates and configurations are ready\n');

#!/usr/bin/env node
// Generates a local certificate authority and server certificates signed by it, for DTR and the
// content caches (uses the openssl command; Node has no X.509 writer).
//
//   node tools/generate-certs.mjs --out <dir> <name>=<host>[,<host>…] [<name>=…]
//   e.g. node tools/generate-certs.mjs --out data/certs dtr=127.0.0.1,localhost los-angeles=127.0.0.3
//
// Writes <dir>/ca.pem and ca-key.pem (created once, then reused) and, per name, <name>.pem (the
// certificate followed by the CA: a chain) and <name>-key.pem (mode 0600). A host that parses as an
// IP address becomes an IP subjectAltName, anything else a DNS one. Existing certificates are kept
// unless --force is given. Keys are ECDSA P-256; the CA lives ten years, certificates 825 days.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

function fail(message) {
  process.stderr.write(`generate-certs: ${message}\n`);
  process.exit(2);
}

function openssl(args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const args = process.argv.slice(2);
let out;
let force = false;
const certificates = [];
for (let index = 0; index < args.length; index += 1) {
  const arg = args[index];
  if (arg === '--out') out = args[++index];
  else if (arg === '--force') force = true;
  else if (/^[a-z0-9][a-z0-9-]*=[^=]+$/.test(arg)) {
    const [name, hosts] = arg.split('=');
    certificates.push({ name, hosts: hosts.split(',').filter(Boolean) });
  } else
    fail(`unexpected argument ${JSON.stringify(arg)}; usage: --out <dir> <name>=<host>[,<host>…]`);
}
if (!out || certificates.length === 0)
  fail('usage: --out <dir> <name>=<host>[,<host>…] [<name>=…]');

mkdirSync(out, { recursive: true });
const caKey = join(out, 'ca-key.pem');
const caCert = join(out, 'ca.pem');
if (!existsSync(caCert) || !existsSync(caKey)) {
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '3650',
    '-subj',
    '/CN=dtr-content-cache local CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(caKey, 0o600);
}

for (const { name, hosts } of certificates) {
  const certificate = join(out, `${name}.pem`);
  const key = join(out, `${name}-key.pem`);
  if (!force && existsSync(certificate) && existsSync(key)) continue;
  const request = join(out, `${name}.csr`);
  const extensions = join(out, `${name}.ext`);
  const altNames = hosts.map((host) => (isIP(host) ? `IP:${host}` : `DNS:${host}`)).join(',');
  writeFileSync(
    extensions,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${altNames}\n`,
  );
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    request,
    '-subj',
    `/CN=${name}`,
  ]);
  chmodSync(key, 0o600);
  openssl([
    'x509',
    '-req',
    '-in',
    request,
    '-CA',
    caCert,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '825',
    '-out',
    certificate,
    '-extfile',
    extensions,
  ]);
  writeFileSync(certificate, readFileSync(certificate, 'utf8') + readFileSync(caCert, 'utf8'));
  rmSync(request);
  rmSync(extensions);
}
rmSync(join(out, 'ca.srl'), { force: true });
process.stdout.write(
  `${JSON.stringify({ ca: caCert, certificates: certificates.map(({ name }) => ({ name, certificate: join(out, `${name}.pem`), key: join(out, `${name}-key.pem`) })) })}\n`,
);

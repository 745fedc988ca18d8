/**
 * `npm start`: the full local topology as processes, on an embedded default (SQLite, local disk,
 * everything under one data folder, `./data` or `$DTR_DATA`):
 *
 *   DTR            https://127.0.0.10:5443   (dtr-api; TLS with its own local CA)
 *   region-us      http://127.0.0.11:5000    (simple.yml: pulls from DTR)
 *   san-francisco  https://127.0.0.12:5000   (chain-san-francisco.yml: pulls from DTR)
 *   los-angeles    https://127.0.0.13:5000   (chain-los-angeles.yml: pulls from san-francisco)
 *
 * The cache configurations are the reference files with only hosts, ports and paths replaced. The
 * caches are registered with `POST /api/v0/content_caches`, and a demo user has los-angeles selected.
 * Prints the endpoints and writes them to `<data>/endpoints.json`; Ctrl-C stops everything; a second
 * start reuses the data (and the generated passwords in `<data>/credentials.json`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const data = resolve(process.env['DTR_DATA'] ?? join(root, 'data'));
const reference = join(root, 'libs', 'config', 'test', 'fixtures', 'reference');

const DTR = { host: '127.0.0.10', port: 5443 };
const CACHES = [
  { name: 'region-us', host: '127.0.0.11', port: 5000, file: 'simple.yml', tls: false },
  {
    name: 'san-francisco',
    host: '127.0.0.12',
    port: 5000,
    file: 'chain-san-francisco.yml',
    tls: true,
  },
  { name: 'los-angeles', host: '127.0.0.13', port: 5000, file: 'chain-los-angeles.yml', tls: true },
] as const;
const DEMO_CACHE = 'los-angeles';

const dtrUrl = `https://${DTR.host}:${DTR.port}`;
const cacheUrl = (cache: (typeof CACHES)[number]) =>
  `${cache.tls ? 'https' : 'http'}://${cache.host}:${cache.port}`;
const certs = join(data, 'certs');
/** Each TLS server gets its own local CA, so each hop trusts exactly the CA of its next hop. */
const caOf = (name: string) => join(certs, name, 'ca.pem');

function log(message: string): void {
  process.stdout.write(`start: ${message}\n`);
}

/** Reads a reference file and replaces its placeholders, hosts, ports and paths (nothing else). */
function referenceConfig(file: string, replacements: Record<string, string>): string {
  let text = readFileSync(join(reference, file), 'utf8');
  for (const [from, to] of Object.entries(replacements)) {
    if (!text.includes(from)) throw new Error(`${file} has no "${from}" to replace`);
    text = text.replaceAll(from, to);
  }
  return text;
}

function writeConfigs(adminPassword: string): void {
  mkdirSync(join(data, 'config'), { recursive: true });
  const tls = (name: string) => ({
    [`/certs/${name}-ca.pem`]: join(certs, name, `${name}.pem`),
    [`/certs/${name}-key.pem`]: join(certs, name, `${name}-key.pem`),
  });
  const common = (cache: (typeof CACHES)[number]) => ({
    '/var/lib/registry': join(data, cache.name, 'storage'),
    'addr: :5000': `addr: ${cache.host}:${cache.port}`,
    'https://<dtr-url>': dtrUrl,
  });
  const [regionUs, sanFrancisco, losAngeles] = CACHES;
  const texts: Record<string, string> = {
    [regionUs.name]: referenceConfig(regionUs.file, {
      ...common(regionUs),
      '/certs/dtr-ca.pem': caOf('dtr'),
    }),
    [sanFrancisco.name]: referenceConfig(sanFrancisco.file, {
      ...common(sanFrancisco),
      ...tls('san-francisco'),
      '/certs/dtr-ca.pem': caOf('dtr'),
    }),
    [losAngeles.name]: referenceConfig(losAngeles.file, {
      ...common(losAngeles),
      ...tls('los-angeles'),
      // In los-angeles's file this path is the CA it trusts: san-francisco's.
      '/certs/san-francisco-ca.pem': caOf('san-francisco'),
      'https://<san-francisco-url>': cacheUrl(sanFrancisco),
    }),
  };
  for (const [name, text] of Object.entries(texts))
    writeFileSync(join(data, 'config', `${name}.yml`), text);

  writeFileSync(
    join(data, 'config', 'dtr.yml'),
    [
      'log: { level: info, formatter: text }',
      `storage: { delete: { enabled: true }, filesystem: { rootdirectory: ${join(data, 'dtr', 'blobs')} } }`,
      `http:`,
      `  addr: ${DTR.host}:${DTR.port}`,
      `  tls: { certificate: ${join(certs, 'dtr', 'dtr.pem')}, key: ${join(certs, 'dtr', 'dtr-key.pem')} }`,
      `database: { path: ${join(data, 'dtr', 'dtr.sqlite')} }`,
      `auth: { keyfile: ${join(data, 'dtr', 'token-key.pem')} }`,
      `admin: { username: admin, password: ${JSON.stringify(adminPassword)} }`,
      `ca: { certificate: ${caOf('dtr')} }`,
      `contentcaches: { healthinterval: 5s, cas: [${caOf('san-francisco')}, ${caOf('los-angeles')}] }`,
      '',
    ].join('\n'),
  );
}

interface Credentials {
  admin: { username: string; password: string };
  demo: { username: string; password: string };
}

function credentials(): Credentials {
  const file = join(data, 'credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const created: Credentials = {
    admin: { username: 'admin', password: randomBytes(12).toString('base64url') },
    demo: { username: 'demo', password: randomBytes(12).toString('base64url') },
  };
  mkdirSync(data, { recursive: true });
  writeFileSync(file, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600 });
  return created;
}

function generateCertificates(): void {
  const generate = (name: string, hosts: string) =>
    execFileSync(
      process.execPath,
      [join(root, 'tools', 'generate-certs.mjs'), '--out', join(certs, name), `${name}=${hosts}`],
      { stdio: 'inherit' },
    );
  generate('dtr', `${DTR.host},localhost`);
  generate('san-francisco', CACHES[1].host);
  generate('los-angeles', CACHES[2].host);
  // One folder with every local CA, for clients (skopeo --cert-dir, curl --capath style).
  mkdirSync(join(certs, 'clients'), { recursive: true });
  for (const name of ['dtr', 'san-francisco', 'los-angeles'])
    writeFileSync(join(certs, 'clients', `${name}-ca.crt`), readFileSync(caOf(name)));
}

const children = new Map<string, ChildProcess>();
let stopping = false;

function startProcess(name: string, args: string[]): void {
  mkdirSync(join(data, 'logs'), { recursive: true });
  const out = createWriteStream(join(data, 'logs', `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  children.set(name, child);
  child.once('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    log(`${name} exited (${signal ?? code}); see ${join(data, 'logs', `${name}.log`)}`);
    void stopAll(1);
  });
}

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('stopping');
  const exited = [...children.values()].map(
    (child) => new Promise<void>((done) => child.once('exit', () => done())),
  );
  for (const child of children.values()) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, 10_000);
  await Promise.all(exited);
  clearTimeout(timer);
  log('stopped');
  process.exit(exitCode);
}

let cas: Buffer[] | undefined;
/** The local CAs (read once, after they were generated). */
function localCas(): Buffer[] {
  cas ??= ['dtr', 'san-francisco', 'los-angeles'].map((name) => readFileSync(caOf(name)));
  return cas;
}

/** One HTTP(S) request trusting the local CAs; resolves with status and body. */
function call(
  url: string,
  options: { method?: string; body?: unknown; auth?: { username: string; password: string } } = {},
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolveCall, reject) => {
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send(
      target,
      {
        method: options.method ?? 'GET',
        ca: localCas(),
        timeout: 5000,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(options.auth
            ? {
                Authorization: `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`,
              }
            : {}),
        },
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () =>
          resolveCall({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function waitReady(name: string, url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (stopping) return;
    const answer = await call(url).catch(() => undefined);
    if (answer && answer.status < 500) return;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready at ${url}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

/** Calls DTR's API; `accepted` statuses (e.g. 409 on a second start) count as success. */
async function api(
  method: string,
  path: string,
  body: unknown,
  auth: { username: string; password: string },
  accepted: number[],
): Promise<void> {
  const answer = await call(`${dtrUrl}${path}`, { method, body, auth });
  if (!accepted.includes(answer.status))
    throw new Error(`${method} ${path} answered ${answer.status}: ${answer.body}`);
}

async function main(): Promise<void> {
  const users = credentials();
  generateCertificates();
  writeConfigs(users.admin.password);
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  startProcess('dtr', [
    join(root, 'apps', 'dtr-api', 'bin', 'dtr-api.mjs'),
    join(data, 'config', 'dtr.yml'),
  ]);
  await waitReady('dtr', `${dtrUrl}/v2/`);
  for (const cache of CACHES) {
    startProcess(cache.name, [
      join(root, 'apps', 'content-cache', 'bin', 'content-cache.mjs'),
      join(data, 'config', `${cache.name}.yml`),
    ]);
  }
  for (const cache of CACHES) await waitReady(cache.name, `${cacheUrl(cache)}/health`);

  for (const cache of CACHES) {
    await api(
      'POST',
      '/api/v0/content_caches',
      { name: cache.name, host: cacheUrl(cache) },
      users.admin,
      [201, 409],
    );
  }
  await api(
    'POST',
    '/api/v0/accounts',
    { name: users.demo.username, type: 'user', password: users.demo.password },
    users.admin,
    [201, 409],
  );
  await api(
    'PATCH',
    `/api/v0/accounts/${users.demo.username}/settings`,
    { contentCache: DEMO_CACHE },
    users.admin,
    [200],
  );

  const endpoints = {
    dtr: { url: dtrUrl, ca: caOf('dtr'), ui: `${dtrUrl}/`, apiDocs: `${dtrUrl}/api/docs` },
    caches: Object.fromEntries(
      CACHES.map((cache) => [
        cache.name,
        {
          url: cacheUrl(cache),
          config: join(data, 'config', `${cache.name}.yml`),
          metrics: `${cacheUrl(cache)}/metrics`,
          log: join(data, 'logs', `${cache.name}.log`),
          ...(cache.tls ? { ca: caOf(cache.name) } : {}),
        },
      ]),
    ),
    users,
    demoCache: DEMO_CACHE,
    clientCertDir: join(certs, 'clients'),
    data,
  };
  writeFileSync(join(data, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);
  const registry = `${DTR.host}:${DTR.port}`;
  const { demo, admin } = users;
  process.stdout.write(`
DTR and its content caches are running (data in ${data}).

  DTR             ${dtrUrl}/   (web UI; API docs at ${dtrUrl}/api/docs; CA at ${dtrUrl}/ca)
${CACHES.map((cache) => `  ${cache.name.padEnd(15)} ${cacheUrl(cache)}   (log: ${join(data, 'logs', `${cache.name}.log`)})`).join('\n')}

  administrator   ${admin.username} / ${admin.password}
  demo user       ${demo.username} / ${demo.password}   (content cache: ${DEMO_CACHE}, via san-francisco)

Try it (the CAs of DTR and the caches are in ${join(certs, 'clients')}):
  skopeo copy --dest-cert-dir ${join(certs, 'clients')} --dest-creds ${demo.username}:${demo.password} \\
    docker-archive:<image.tar> docker://${registry}/${demo.username}/app:latest
  skopeo copy --src-cert-dir ${join(certs, 'clients')} --src-creds ${demo.username}:${demo.password} \\
    docker://${registry}/${demo.username}/app:latest oci:/tmp/app:latest
  docker: copy ${caOf('dtr')} to /etc/docker/certs.d/${registry}/ca.crt and
    ${caOf(DEMO_CACHE)} to /etc/docker/certs.d/${CACHES[2].host}:${CACHES[2].port}/ca.crt, then
    docker login ${registry} -u ${demo.username}  and  docker pull ${registry}/${demo.username}/app:latest

Endpoints as JSON: ${join(data, 'endpoints.json')}. Press Ctrl-C to stop.
`);
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  void stopAll(1);
});

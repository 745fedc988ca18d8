/**
 * The local DTR topology, shared by `npm start` (processes) and docker compose (containers): the
 * servers and their addresses, the reference cache configurations with placeholders replaced, the
 * generated passwords, the local certificate authorities, and provisioning through DTR's API.
 * Node built-ins only: it also runs inside the dtr-api image (compose's setup and init steps).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const referenceFolder = join(workspaceRoot, 'libs', 'config', 'test', 'fixtures', 'reference');

/** A content cache of the topology and the reference file it runs. */
export interface CacheNode {
  readonly name: 'region-us' | 'san-francisco' | 'los-angeles';
  readonly host: string;
  readonly port: number;
  readonly file: string;
  readonly tls: boolean;
}

/** Where each server listens. */
export interface Layout {
  readonly dtr: { readonly host: string; readonly port: number };
  readonly caches: readonly [CacheNode, CacheNode, CacheNode];
}

/** The cache the demo user has selected: the second hop of the chain. */
export const DEMO_CACHE = 'los-angeles';
/** Servers with TLS, each with its own local CA. */
export const TLS_SERVERS = ['dtr', 'san-francisco', 'los-angeles'] as const;

/** DTR and the three caches on four loopback addresses (or other hosts). */
function layout(hosts: {
  dtr: string;
  regionUs: string;
  sanFrancisco: string;
  losAngeles: string;
}): Layout {
  return {
    dtr: { host: hosts.dtr, port: 5443 },
    caches: [
      { name: 'region-us', host: hosts.regionUs, port: 5000, file: 'simple.yml', tls: false },
      {
        name: 'san-francisco',
        host: hosts.sanFrancisco,
        port: 5000,
        file: 'chain-san-francisco.yml',
        tls: true,
      },
      {
        name: 'los-angeles',
        host: hosts.losAngeles,
        port: 5000,
        file: 'chain-los-angeles.yml',
        tls: true,
      },
    ],
  };
}

/** How a server process is started: Node options and environment. */
export interface ServerRuntime {
  readonly nodeOptions: string[];
  readonly env: Record<string, string>;
}

/**
 * A server's runtime (`apps/<app>/bin/server-runtime.json`, which its launcher applies): for
 * starting the server process directly, as the container images do.
 */
export function serverRuntime(app: 'content-cache' | 'dtr-api'): ServerRuntime {
  return JSON.parse(
    readFileSync(join(workspaceRoot, 'apps', app, 'bin', 'server-runtime.json'), 'utf8'),
  ) as ServerRuntime;
}

/**
 * The addresses: DTR at DTR_HOST (default `first`), the caches at REGION_US_HOST,
 * SAN_FRANCISCO_HOST and LOS_ANGELES_HOST, each defaulting to DTR's address + 1…3 in the last
 * octet (127.0.0.10 → .11, .12, .13). Empty values count as unset.
 */
export function layoutFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  defaultDtrHost: string,
): Layout {
  const first = env['DTR_HOST'] || defaultDtrHost;
  const prefix = first.slice(0, first.lastIndexOf('.') + 1);
  const octet = Number(first.slice(first.lastIndexOf('.') + 1));
  const host = (name: string, offset: number) => env[name] || `${prefix}${octet + offset}`;
  return layout({
    dtr: first,
    regionUs: host('REGION_US_HOST', 1),
    sanFrancisco: host('SAN_FRANCISCO_HOST', 2),
    losAngeles: host('LOS_ANGELES_HOST', 3),
  });
}

export const dtrUrlOf = (topology: Layout) => `https://${topology.dtr.host}:${topology.dtr.port}`;
export const cacheUrlOf = (cache: CacheNode) =>
  `${cache.tls ? 'https' : 'http'}://${cache.host}:${cache.port}`;

/** Reads a reference file and replaces placeholders, hosts, ports and paths (nothing else). */
export function referenceConfig(file: string, replacements: Record<string, string>): string {
  let text = readFileSync(join(referenceFolder, file), 'utf8');
  for (const [from, to] of Object.entries(replacements)) {
    if (!text.includes(from)) throw new Error(`${file} has no "${from}" to replace`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/**
 * The three cache configurations. `paths` maps each cache's reference paths (`/certs/…`,
 * `/var/lib/registry`) to where they are; identity inside containers, data folders for processes.
 * `blobTtl` replaces the reference files' 24h (tests of expiry only).
 */
export function cacheConfigs(
  topology: Layout,
  paths: (cache: CacheNode) => Record<string, string>,
  options: { blobTtl?: string | undefined } = {},
): Record<CacheNode['name'], string> {
  const [regionUs, sanFrancisco, losAngeles] = topology.caches;
  const common = (cache: CacheNode) => ({
    'addr: :5000': `addr: ${cache.host}:${cache.port}`,
    'https://<dtr-url>': dtrUrlOf(topology),
    // Only for tests of expiry (TOPOLOGY_BLOBTTL): the reference files say 24h.
    ...(options.blobTtl ? { 'blobttl: 24h': `blobttl: ${options.blobTtl}` } : {}),
    ...paths(cache),
  });
  return {
    'region-us': referenceConfig(regionUs.file, common(regionUs)),
    'san-francisco': referenceConfig(sanFrancisco.file, common(sanFrancisco)),
    'los-angeles': referenceConfig(losAngeles.file, {
      ...common(losAngeles),
      'https://<san-francisco-url>': cacheUrlOf(sanFrancisco),
    }),
  };
}

/** DTR's own configuration file (not a reference format). */
export function dtrConfig(
  topology: Layout,
  files: {
    data: string;
    certificate: string;
    key: string;
    ca: string;
    cacheCas: string[];
    adminPassword: string;
  },
): string {
  return [
    'log: { level: info, formatter: text }',
    `storage: { delete: { enabled: true }, filesystem: { rootdirectory: ${join(files.data, 'blobs')} } }`,
    'http:',
    `  addr: ${topology.dtr.host}:${topology.dtr.port}`,
    `  tls: { certificate: ${files.certificate}, key: ${files.key} }`,
    `database: { path: ${join(files.data, 'dtr.sqlite')} }`,
    `auth: { keyfile: ${join(files.data, 'token-key.pem')} }`,
    `admin: { username: admin, password: ${JSON.stringify(files.adminPassword)} }`,
    `ca: { certificate: ${files.ca} }`,
    `contentcaches: { healthinterval: 5s, cas: [${files.cacheCas.join(', ')}] }`,
    '',
  ].join('\n');
}

export interface User {
  readonly username: string;
  readonly password: string;
}
export interface Credentials {
  readonly admin: User;
  readonly demo: User;
}

/**
 * The administrator's and demo user's passwords: read from `file`, else taken from `given` or
 * generated, and kept in `file` (mode 0600) so a second start reuses them.
 */
export function credentials(
  file: string,
  given: { admin?: string | undefined; demo?: string | undefined } = {},
): Credentials {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const password = () => randomBytes(12).toString('base64url');
  const created: Credentials = {
    admin: { username: 'admin', password: given.admin || password() },
    demo: { username: 'demo', password: given.demo || password() },
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600 });
  return created;
}

/**
 * One local CA per TLS server, in `<certs>/<name>/` (`ca.pem`, `<name>.pem` = certificate + CA,
 * `<name>-key.pem`), created once and then reused; plus `<certs>/clients/<name>-ca.crt` for clients.
 */
export function generateCertificates(certs: string, hostsOf: Record<string, string[]>): void {
  for (const [name, hosts] of Object.entries(hostsOf)) {
    execFileSync(
      process.execPath,
      [
        join(workspaceRoot, 'tools', 'generate-certs.mjs'),
        '--out',
        join(certs, name),
        `${name}=${hosts.join(',')}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  mkdirSync(join(certs, 'clients'), { recursive: true });
  for (const name of Object.keys(hostsOf))
    copyFileSync(join(certs, name, 'ca.pem'), join(certs, 'clients', `${name}-ca.crt`));
}

/** One HTTP(S) request trusting `cas`; resolves with status and body text. */
export function call(
  url: string,
  options: { method?: string; body?: unknown; auth?: User; cas?: Buffer[] } = {},
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const authorization = options.auth
    ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
    : undefined;
  return new Promise((resolveCall, reject) => {
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send(
      target,
      {
        method: options.method ?? 'GET',
        ...(options.cas ? { ca: options.cas } : {}),
        timeout: 5000,
        headers: {
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(authorization ? { Authorization: authorization } : {}),
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

/** Waits until `url` answers below 500, or throws after `timeoutMs`. */
export async function waitReady(
  name: string,
  url: string,
  cas: Buffer[],
  options: { timeoutMs?: number; cancelled?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (options.cancelled?.()) return;
    const answer = await call(url, { cas }).catch(() => undefined);
    if (answer && answer.status < 500) return;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready at ${url}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

/**
 * Registers the caches with `POST /api/v0/content_caches` (409: already registered), creates the
 * demo user (409: exists) and selects its cache. Idempotent.
 * @throws Error naming the call when DTR answers anything else.
 */
export async function provision(
  topology: Layout,
  users: Credentials,
  cas: Buffer[],
): Promise<void> {
  const dtrUrl = dtrUrlOf(topology);
  const api = async (method: string, path: string, body: unknown, accepted: number[]) => {
    const answer = await call(`${dtrUrl}${path}`, { method, body, auth: users.admin, cas });
    if (!accepted.includes(answer.status))
      throw new Error(`${method} ${path} answered ${answer.status}: ${answer.body}`);
  };
  for (const cache of topology.caches) {
    await api(
      'POST',
      '/api/v0/content_caches',
      { name: cache.name, host: cacheUrlOf(cache) },
      [201, 409],
    );
  }
  const { demo } = users;
  await api(
    'POST',
    '/api/v0/accounts',
    { name: demo.username, type: 'user', password: demo.password },
    [201, 409],
  );
  await api(
    'PATCH',
    `/api/v0/accounts/${demo.username}/settings`,
    { contentCache: DEMO_CACHE },
    [200],
  );
}

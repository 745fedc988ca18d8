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

/** A further member of a cache group: the group's reference file run again on another address. */
export interface GroupMember {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** A content cache (group) of the topology and the reference file its members run. */
export interface CacheNode {
  readonly name: 'region-us' | 'san-francisco' | 'los-angeles';
  /** The first member's address. */
  readonly host: string;
  readonly port: number;
  readonly file: string;
  readonly tls: boolean;
  /** The group's other members, each its own process and disk (`npm start`: region-us-2). */
  readonly otherMembers: readonly GroupMember[];
  /** Client networks whose users without a setting pull through it (`networks`). */
  readonly networks: readonly string[];
}

/** The network `npm start` gives region-us: every loopback client, so the choice by network shows. */
export const REGION_US_NETWORKS: readonly string[] = ['127.0.0.0/8'];

/** Where each server listens. */
export interface Layout {
  readonly dtr: { readonly host: string; readonly port: number };
  readonly caches: readonly [CacheNode, CacheNode, CacheNode];
}

/** The cache the demo user has selected: the second hop of the chain. */
export const DEMO_CACHE = 'los-angeles';
/** Servers with TLS, each with its own local CA. */
export const TLS_SERVERS = ['dtr', 'san-francisco', 'los-angeles'] as const;

/**
 * DTR and the three caches on four loopback addresses (or other hosts); with `regionUsSecond`,
 * region-us is a group of two members (the second on that address) serving {@link
 * REGION_US_NETWORKS}.
 */
function layout(hosts: {
  dtr: string;
  regionUs: string;
  regionUsSecond: string | undefined;
  sanFrancisco: string;
  losAngeles: string;
}): Layout {
  const single = { otherMembers: [], networks: [] };
  return {
    dtr: { host: hosts.dtr, port: 5443 },
    caches: [
      {
        name: 'region-us',
        host: hosts.regionUs,
        port: 5000,
        file: 'simple.yml',
        tls: false,
        ...(hosts.regionUsSecond
          ? {
              otherMembers: [{ name: 'region-us-2', host: hosts.regionUsSecond, port: 5000 }],
              networks: REGION_US_NETWORKS,
            }
          : single),
      },
      {
        name: 'san-francisco',
        host: hosts.sanFrancisco,
        port: 5000,
        file: 'chain-san-francisco.yml',
        tls: true,
        ...single,
      },
      {
        name: 'los-angeles',
        host: hosts.losAngeles,
        port: 5000,
        file: 'chain-los-angeles.yml',
        tls: true,
        ...single,
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
 * octet (127.0.0.10 → .11, .12, .13). With `regionUsGroup` (`npm start`), region-us is a group of
 * two: its second member at REGION_US_2_HOST, default DTR's address + 4 (.14). Empty values count
 * as unset.
 */
export function layoutFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  defaultDtrHost: string,
  options: { regionUsGroup?: boolean } = {},
): Layout {
  const first = env['DTR_HOST'] || defaultDtrHost;
  const prefix = first.slice(0, first.lastIndexOf('.') + 1);
  const octet = Number(first.slice(first.lastIndexOf('.') + 1));
  const host = (name: string, offset: number) => env[name] || `${prefix}${octet + offset}`;
  return layout({
    dtr: first,
    regionUs: host('REGION_US_HOST', 1),
    regionUsSecond: options.regionUsGroup ? host('REGION_US_2_HOST', 4) : undefined,
    sanFrancisco: host('SAN_FRANCISCO_HOST', 2),
    losAngeles: host('LOS_ANGELES_HOST', 3),
  });
}

export const dtrUrlOf = (topology: Layout) => `https://${topology.dtr.host}:${topology.dtr.port}`;
export const cacheUrlOf = (cache: CacheNode) =>
  `${cache.tls ? 'https' : 'http'}://${cache.host}:${cache.port}`;

/** Each member of a cache group (the first is the cache's own address), with its process name. */
export const membersOf = (cache: CacheNode): GroupMember[] => [
  { name: cache.name, host: cache.host, port: cache.port },
  ...cache.otherMembers,
];
export const memberUrlOf = (cache: CacheNode, member: GroupMember) =>
  `${cache.tls ? 'https' : 'http'}://${member.host}:${member.port}`;

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
 * The configuration of each cache server, keyed by its process name (a group's members each get
 * one: region-us, region-us-2). `paths` maps each cache's reference paths (`/certs/…`,
 * `/var/lib/registry`) for a member to where they are; identity inside containers, data folders
 * for processes. `blobTtl` replaces the reference files' 24h (tests of expiry only).
 */
export function cacheConfigs(
  topology: Layout,
  paths: (cache: CacheNode, member: GroupMember) => Record<string, string>,
  options: { blobTtl?: string | undefined } = {},
): Record<string, string> {
  const [, sanFrancisco] = topology.caches;
  const configs: Record<string, string> = {};
  for (const cache of topology.caches) {
    for (const member of membersOf(cache)) {
      configs[member.name] = referenceConfig(cache.file, {
        'addr: :5000': `addr: ${member.host}:${member.port}`,
        'https://<dtr-url>': dtrUrlOf(topology),
        // Only for tests of expiry (TOPOLOGY_BLOBTTL): the reference files say 24h.
        ...(options.blobTtl ? { 'blobttl: 24h': `blobttl: ${options.blobTtl}` } : {}),
        ...(cache.name === 'los-angeles'
          ? { 'https://<san-francisco-url>': cacheUrlOf(sanFrancisco) }
          : {}),
        ...paths(cache, member),
      });
    }
  }
  return configs;
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
 * Registers the caches with `POST /api/v0/content_caches` — an already registered one (409) gets
 * the layout's members and networks with `PATCH`, so a data folder from before the group follows
 * — creates the demo user (409: exists) and selects its cache. Idempotent.
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
    return answer;
  };
  for (const cache of topology.caches) {
    const group = {
      hosts: membersOf(cache).map((member) => memberUrlOf(cache, member)),
      networks: cache.networks,
    };
    const created = await api(
      'POST',
      '/api/v0/content_caches',
      { name: cache.name, ...group },
      [201, 409],
    );
    if (created.status === 409) {
      const listing = await api('GET', '/api/v0/content_caches', undefined, [200]);
      const { contentCaches } = JSON.parse(listing.body) as {
        contentCaches: Array<{ id: number; name: string }>;
      };
      const registered = contentCaches.find((each) => each.name === cache.name);
      // Not by this name: one of its hosts is a member of another cache.
      if (!registered) throw new Error(`POST /api/v0/content_caches answered 409: ${created.body}`);
      await api('PATCH', `/api/v0/content_caches/${registered.id}`, group, [200]);
    }
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

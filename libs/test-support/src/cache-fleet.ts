/**
 * A fleet of content cache groups around one DTR, as processes, for end-to-end tests and the
 * benchmark of cache groups: DTR (plain HTTP, SQLite) and any number of caches, each a group of
 * one or more members (one content-cache process each, with its own disk), filling from DTR or
 * chained into another group of the fleet with a chosen `upstreampolicy`. Users are created with
 * their chosen cache. Everything is plain HTTP on loopback addresses given by the caller.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobKey } from '@dtr-cache/blob-store';
import { Digest } from '@dtr-cache/registry-protocol';
import { workspaceRoot } from './topology';

/** One cache (group) of the fleet. */
export interface FleetCache {
  readonly name: string;
  /** A loopback address per member; each member listens on port 5000 there. */
  readonly members: readonly string[];
  /** The cache this one is chained into (its members are the `upstreamhosts`); else DTR. */
  readonly upstream?: string;
  readonly upstreamPolicy?: 'roundrobin' | 'digest';
  /** Registered with DTR (a user can choose it); default true. */
  readonly registered?: boolean;
}

export interface FleetOptions {
  /** DTR's loopback address (port 5000). */
  readonly dtrHost: string;
  readonly caches: readonly FleetCache[];
  /** Users to create, each with its chosen cache. */
  readonly users: ReadonlyArray<{ readonly name: string; readonly cache: string }>;
}

/** What DTR served as the origin of blobs: answered blob GETs with a body (fills and direct). */
export interface OriginTraffic {
  readonly gets: number;
  readonly bytes: number;
}

export interface RunningFleet {
  readonly dtrUrl: string;
  /** `host:port` of DTR, for clients. */
  readonly registry: string;
  readonly admin: { readonly name: string; readonly password: string };
  /** Every user's password is this. */
  readonly userPassword: string;
  memberUrl(cache: string, index: number): string;
  /** The indexes of the members of `cache` that hold `digest` on disk. */
  holders(cache: string, digest: string): number[];
  /** DTR's blob GETs answered 200 for `digests` in `repository`, from its access log. */
  originTraffic(repository: string, digests: readonly string[]): Promise<OriginTraffic>;
  /** The member's log lines. */
  memberLog(cache: string, index: number): Promise<string[]>;
  /** Stops one member as an operator would (SIGTERM: it finishes what it serves, then exits). */
  stopMember(cache: string, index: number): Promise<void>;
  dispose(): Promise<void>;
}

const PORT = 5000;
const ADMIN_PASSWORD = 'fleet-admin-password';
const USER_PASSWORD = 'fleet-user-password';

interface ServerRuntime {
  readonly nodeOptions: string[];
  readonly env: Record<string, string>;
}

/** A server's Node options and environment, as its launcher (bin/*.mjs) applies them. */
function runtimeOf(app: 'content-cache' | 'dtr-api'): ServerRuntime {
  const file = join(workspaceRoot, 'apps', app, 'bin', 'server-runtime.json');
  return JSON.parse(readFileSync(file, 'utf8')) as ServerRuntime;
}

function startServer(app: 'content-cache' | 'dtr-api', config: string, log: string): ChildProcess {
  const runtime = runtimeOf(app);
  const out = createWriteStream(log);
  const child = spawn(
    process.execPath,
    [...runtime.nodeOptions, join(workspaceRoot, 'apps', app, 'bin', `${app}.mjs`), config],
    { env: { ...process.env, ...runtime.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function waitUp(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await fetch(url).catch(() => undefined);
    if (answer && answer.status < 500) return;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${url} did not come up:\n${await readFile(log, 'utf8').catch(() => '')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const cacheConfig = (
  address: string,
  store: string,
  dtrUrl: string,
  upstreamHosts: readonly string[],
  policy: string | undefined,
) =>
  [
    'version: 0.1',
    'log: { level: info, formatter: text }',
    `storage: { delete: { enabled: true }, filesystem: { rootdirectory: ${store} } }`,
    `http: { addr: "${address}:${PORT}" }`,
    'middleware:',
    '  registry:',
    '    - name: downstream',
    '      options:',
    '        blobttl: 24h',
    '        workers: 1',
    '        upstreams:',
    `          - originhost: ${dtrUrl}`,
    ...(upstreamHosts.length > 0
      ? [`            upstreamhosts: [${upstreamHosts.join(', ')}]`]
      : []),
    ...(policy ? [`            upstreampolicy: ${policy}`] : []),
    '',
  ].join('\n');

/**
 * Starts DTR and every member of every cache, registers the caches, creates the users and waits
 * until DTR judges every registered member healthy.
 * @throws Error with the server's log when a server does not come up or DTR refuses a step.
 */
export async function startCacheFleet(options: FleetOptions): Promise<RunningFleet> {
  const work = await mkdtemp(join(tmpdir(), 'dtr-fleet-'));
  const children = new Map<string, ChildProcess>();
  const dtrUrl = `http://${options.dtrHost}:${PORT}`;
  const memberUrl = (cache: string, index: number) => {
    const address = options.caches.find((each) => each.name === cache)?.members[index];
    if (address === undefined) throw new Error(`no member ${index} of ${cache}`);
    return `http://${address}:${PORT}`;
  };
  const storeOf = (cache: string, index: number) => join(work, `${cache}-${index}`, 'store');
  const logOf = (cache: string, index: number) => join(work, `${cache}-${index}.log`);
  const dispose = async () => {
    await Promise.all([...children.values()].map((child) => stopServer(child)));
    await rm(work, { recursive: true, force: true });
  };
  try {
    const dtrConfig = join(work, 'dtr.yml');
    await writeFile(
      dtrConfig,
      [
        'log: { level: info, formatter: text }',
        `storage: { delete: { enabled: true }, filesystem: { rootdirectory: ${work}/dtr/blobs } }`,
        `http: { addr: "${options.dtrHost}:${PORT}" }`,
        `database: { path: ${work}/dtr/dtr.sqlite }`,
        `auth: { keyfile: ${work}/dtr/token-key.pem }`,
        `admin: { password: ${ADMIN_PASSWORD} }`,
        'contentcaches: { healthinterval: 1s }',
        '',
      ].join('\n'),
    );
    const dtr = startServer('dtr-api', dtrConfig, join(work, 'dtr.log'));
    children.set('dtr', dtr);
    await waitUp(`${dtrUrl}/v2/`, dtr, join(work, 'dtr.log'));

    for (const cache of options.caches) {
      const upstream = options.caches.find((each) => each.name === cache.upstream);
      if (cache.upstream !== undefined && !upstream) throw new Error(`no cache ${cache.upstream}`);
      const upstreamHosts = upstream?.members.map((_, index) => memberUrl(upstream.name, index));
      for (const [index, address] of cache.members.entries()) {
        await mkdir(storeOf(cache.name, index), { recursive: true });
        const config = join(work, `${cache.name}-${index}.yml`);
        await writeFile(
          config,
          cacheConfig(
            address,
            storeOf(cache.name, index),
            dtrUrl,
            upstreamHosts ?? [],
            cache.upstreamPolicy,
          ),
        );
        const child = startServer('content-cache', config, logOf(cache.name, index));
        children.set(`${cache.name}-${index}`, child);
      }
    }
    for (const cache of options.caches)
      for (const index of cache.members.keys())
        await waitUp(
          `${memberUrl(cache.name, index)}/v2/`,
          children.get(`${cache.name}-${index}`) as ChildProcess,
          logOf(cache.name, index),
        );

    const admin = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
    const api = async (method: string, path: string, body: unknown) => {
      const answer = await fetch(`${dtrUrl}${path}`, {
        method,
        headers: { authorization: admin, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (answer.status >= 300)
        throw new Error(`${method} ${path} answered ${answer.status}: ${await answer.text()}`);
    };
    const registered = options.caches.filter((cache) => cache.registered !== false);
    for (const cache of registered)
      await api('POST', '/api/v0/content_caches', {
        name: cache.name,
        hosts: cache.members.map((_, index) => memberUrl(cache.name, index)),
      });
    for (const user of options.users) {
      await api('POST', '/api/v0/accounts', {
        name: user.name,
        type: 'user',
        password: USER_PASSWORD,
      });
      await api('PATCH', `/api/v0/accounts/${user.name}/settings`, { contentCache: user.cache });
    }
    await waitHealthy(
      dtrUrl,
      admin,
      registered.reduce((sum, cache) => sum + cache.members.length, 0),
    );
  } catch (error) {
    await dispose();
    throw error;
  }

  return {
    dtrUrl,
    registry: `${options.dtrHost}:${PORT}`,
    admin: { name: 'admin', password: ADMIN_PASSWORD },
    userPassword: USER_PASSWORD,
    memberUrl,
    holders: (cache, digest) => {
      const key = blobKey(Digest.parse(digest));
      const members = options.caches.find((each) => each.name === cache)?.members ?? [];
      return [...members.keys()].filter((index) =>
        existsSync(join(storeOf(cache, index), ...key.split('/'))),
      );
    },
    originTraffic: async (repository, digests) => {
      const wanted = new Set(digests.map((digest) => `path=/v2/${repository}/blobs/${digest}`));
      const lines = (await readFile(join(work, 'dtr.log'), 'utf8')).split('\n');
      let gets = 0;
      let bytes = 0;
      for (const line of lines) {
        if (!line.includes('msg=request') || !line.includes('method=GET')) continue;
        if (!line.includes('status=200')) continue;
        const path = /\bpath=(\S+)/.exec(line)?.[0];
        if (path === undefined || !wanted.has(path)) continue;
        gets += 1;
        bytes += Number(/\bbytes=(\d+)/.exec(line)?.[1] ?? 0);
      }
      return { gets, bytes };
    },
    memberLog: async (cache, index) =>
      (await readFile(logOf(cache, index), 'utf8')).split('\n').filter(Boolean),
    stopMember: async (cache, index) => {
      const child = children.get(`${cache}-${index}`);
      if (child) await stopServer(child);
    },
    dispose,
  };
}

/** Waits until DTR has judged `members` cache members healthy (its health checks run each 1 s). */
async function waitHealthy(dtrUrl: string, admin: string, members: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await fetch(`${dtrUrl}/api/v0/content_caches`, {
      headers: { authorization: admin },
    });
    const listing = (await answer.json()) as {
      contentCaches: Array<{ members: Array<{ health: { status: string } }> }>;
    };
    const healthy = listing.contentCaches
      .flatMap((cache) => cache.members)
      .filter((member) => member.health.status === 'healthy').length;
    if (healthy === members) return;
    if (Date.now() > deadline)
      throw new Error(`DTR judges ${healthy} of ${members} cache members healthy`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

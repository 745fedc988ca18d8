/**
 * The control planes the control-plane benchmark measures: DTR replicas (SQLite or PostgreSQL, one
 * storage root and token key file) behind nginx, on loopback, and the HTTP client it drives them with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { serverRuntime, workspaceRoot } from '../topology/topology';

/** The loopback address of everything the benchmark starts. */
export const HOST = '127.0.0.90';
/** Concurrent connections of every load (wrk, the HTTP agent). */
export const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 16);
export const ADMIN = { user: 'admin', password: 'bench-admin-password' };
/** The checkout whose dtr-api runs (BENCH_DTR_ROOT: compare another revision's). */
const DTR_ROOT = process.env['BENCH_DTR_ROOT'] ?? workspaceRoot;
/** More Node options for the DTR replicas (BENCH_DTR_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=…`). */
const DTR_NODE_ARGS = (process.env['BENCH_DTR_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
/** Every server started, so a failed run can kill them all. */
export const children: ChildProcess[] = [];

export function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

export const basic = (who: { user: string; password: string }) =>
  `Basic ${Buffer.from(`${who.user}:${who.password}`).toString('base64')}`;

export const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
/** One request, its body read whole (small answers only). */
export function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () =>
          resolve({
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

function spawnServer(name: string, command: string, args: string[], logDir: string): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-2000)));
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) log(`${name} exited with ${code}: ${errors}`);
  });
  children.push(child);
  writeFileSync(join(logDir, `${name}.cmd`), [command, ...args].join(' '));
  return child;
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await call(url).catch(() => undefined);
    if (answer && answer.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** One control plane under test: DTR replicas and nginx in front of them. */
export interface ControlPlane {
  readonly name: string;
  readonly url: string;
  readonly dtr: ChildProcess[];
  readonly nginx: ChildProcess;
  close(): Promise<void>;
}

export async function startControlPlane(
  name: string,
  replicas: number,
  database: string,
  port: number,
  work: string,
): Promise<ControlPlane> {
  const folder = join(work, name);
  mkdirSync(join(folder, 'nginx'), { recursive: true });
  const runtime = serverRuntime('dtr-api');
  const dtr: ChildProcess[] = [];
  for (let index = 0; index < replicas; index += 1) {
    const config = join(folder, `dtr-${index + 1}.yml`);
    writeFileSync(
      config,
      [
        'log: { level: warn, accesslog: { disabled: true } }',
        `storage: { filesystem: { rootdirectory: ${join(folder, 'blobs')} } }`,
        `http: { addr: "${HOST}:${port + 1 + index}" }`,
        database,
        `auth: { keyfile: ${join(folder, 'token-key.pem')}, realm: "http://${HOST}:${port}/auth/token" }`,
        `admin: { password: ${ADMIN.password} }`,
        `network: { trustedproxies: [${HOST}/32] }`,
        'contentcaches: { healthinterval: 1s }',
        '',
      ].join('\n'),
    );
    dtr.push(
      spawnServer(
        `${name}-dtr-${index + 1}`,
        process.execPath,
        [
          ...runtime.nodeOptions,
          ...DTR_NODE_ARGS,
          join(DTR_ROOT, 'apps', 'dtr-api', 'bin', 'dtr-api.mjs'),
          config,
        ],
        folder,
      ),
    );
    // The first replica alone creates the schema, the administrator and the token key.
    await waitFor(`http://${HOST}:${port + 1 + index}/health`);
  }
  const nginxConf = join(folder, 'nginx.conf');
  const temp = (what: string) => `${what}_temp_path ${join(folder, 'nginx', what)};`;
  writeFileSync(
    nginxConf,
    `worker_processes 1;
pid ${join(folder, 'nginx', 'nginx.pid')};
error_log ${join(folder, 'nginx', 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  upstream dtr {
${Array.from({ length: replicas }, (_, index) => `    server ${HOST}:${port + 1 + index};`).join('\n')}
    keepalive 64;
  }
  server {
    listen ${HOST}:${port};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    location / {
      proxy_pass http://dtr;
      proxy_bind ${HOST};
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout;
    }
  }
}
`,
  );
  const nginx = spawnServer(
    `${name}-nginx`,
    '/usr/sbin/nginx',
    ['-c', nginxConf, '-g', 'daemon off;'],
    folder,
  );
  const url = `http://${HOST}:${port}`;
  await waitFor(`${url}/health`);
  return {
    name,
    url,
    dtr,
    nginx,
    async close() {
      await stop(nginx);
      for (const child of dtr) await stop(child);
    },
  };
}

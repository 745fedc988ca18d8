/**
 * Benchmark of DTR's control plane: the requests every pull makes of DTR — blob redirects (the hot
 * path: one per layer), manifest GETs and token requests — and pushes, through nginx, with one
 * replica on SQLite, one on PostgreSQL and three on PostgreSQL, side by side in one run, with the
 * CPU each request costs DTR, nginx and PostgreSQL (from /proc; this machine has 2 cores, so
 * three replicas cannot show scaling: CPU per request is what extrapolates, see docs/scaling.md).
 * Load comes from wrk (GETs) and Node (pushes, which need bodies).
 *
 *   npm run bench:control-plane     (writes artifacts/control-plane-benchmark.json, prints a table)
 *
 * Environment: BENCH_CONNECTIONS, concurrent connections (default 16); BENCH_SECONDS, each
 * measure's length (default 8); BENCH_WARMUP, the unmeasured load before it (default 3: a
 * replica's first thousand requests pay for V8's compiler); BENCH_PLANES and BENCH_WORKLOADS pick
 * a part; BENCH_DTR_ROOT runs another checkout's dtr-api; BENCH_KEEP=1 keeps the work folder.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processTree, procStatFields, startPostgres } from '@dtr-cache/test-support';
import { ociManifestJson } from '../images/oci-manifest';
import { workspaceRoot as root } from '../topology/topology';
import {
  ADMIN,
  agent,
  basic,
  call,
  children,
  CONNECTIONS,
  type ControlPlane,
  HOST,
  log,
  startControlPlane,
  stop,
} from './control-plane-servers';

const run = promisify(execFile);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const WARMUP_SECONDS = Number(process.env['BENCH_WARMUP'] ?? 3);
/** Only these planes (BENCH_PLANES, comma-separated: sqlite-1, postgresql-1, postgresql-3). */
const PLANES = (process.env['BENCH_PLANES'] ?? '').split(',').filter(Boolean);
/** Only these workloads (BENCH_WORKLOADS, comma-separated: blob, manifest, token, push). */
const WORKLOADS = (process.env['BENCH_WORKLOADS'] ?? '').split(',').filter(Boolean);
const USER = { user: 'bench', password: 'bench-user-password' };
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/**
 * CPU seconds (user + system) of the processes and their descendants, including descendants that
 * exited (their parent's cutime and cstime: PostgreSQL closes idle backends).
 */
function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids.flatMap((root) => processTree(root))) {
    const fields = procStatFields(pid);
    if (fields) ticks += [11, 12, 13, 14].reduce((sum, field) => sum + Number(fields[field]), 0);
  }
  return ticks / TICKS;
}

/** The user, an image and a healthy cache chosen by the user, so blob GETs are redirected. */
async function provision(plane: ControlPlane, cacheUrl: string) {
  const admin = basic(ADMIN);
  const json = { 'Content-Type': 'application/json' };
  await call(`${plane.url}/api/v0/accounts`, {
    method: 'POST',
    headers: { ...json, Authorization: admin },
    body: JSON.stringify({ name: USER.user, type: 'user', password: USER.password }),
  });
  await call(`${plane.url}/api/v0/content_caches`, {
    method: 'POST',
    headers: { ...json, Authorization: admin },
    body: JSON.stringify({ name: 'office', host: cacheUrl }),
  });
  await call(`${plane.url}/api/v0/accounts/${USER.user}/settings`, {
    method: 'PATCH',
    headers: { ...json, Authorization: basic(USER) },
    body: JSON.stringify({ contentCache: 'office' }),
  });
  const push = async (content: Buffer) => {
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const answer = await call(`${plane.url}/v2/bench/app/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { Authorization: basic(USER), 'Content-Length': String(content.length) },
      body: content,
    });
    if (answer.status !== 201)
      throw new Error(`blob push answered ${answer.status}: ${answer.body}`);
    return digest;
  };
  const layer = randomBytes(64 * 1024);
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layerDigest = await push(layer);
  const configDigest = await push(config);
  const manifest = ociManifestJson({ digest: configDigest, size: config.length }, [
    { digest: layerDigest, size: layer.length },
  ]);
  const put = await call(`${plane.url}/v2/bench/app/manifests/v1`, {
    method: 'PUT',
    headers: {
      Authorization: basic(USER),
      'Content-Type': 'application/vnd.oci.image.manifest.v1+json',
    },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`manifest push answered ${put.status}: ${put.body}`);
  const token = JSON.parse(
    (
      await call(`${plane.url}/auth/token?service=dtr&scope=repository:bench/app:pull,push`, {
        headers: { Authorization: basic(USER) },
      })
    ).body,
  ) as { token: string };
  const bearer = `Bearer ${token.token}`;
  // Every replica must have seen the cache healthy (each judges by the shared checks).
  const deadline = Date.now() + 30_000;
  let redirected = 0;
  while (redirected < 20) {
    const answer = await call(`${plane.url}/v2/bench/app/blobs/${layerDigest}`, {
      headers: { Authorization: bearer },
    });
    redirected = answer.status === 307 ? redirected + 1 : 0;
    if (Date.now() > deadline) throw new Error('the cache was never judged healthy');
    if (answer.status !== 307) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { layerDigest, bearer };
}

interface Measure {
  readonly plane: string;
  readonly workload: string;
  readonly perSecond: number;
  readonly errors: number;
  /** CPU microseconds per request (or per push). */
  readonly dtrMicros: number;
  readonly nginxMicros: number;
  readonly postgresMicros: number;
  readonly mbPerSecond?: number;
}

/** Runs a load for `seconds`: what completed, what failed, bytes sent (pushes). */
type Load = (seconds: number) => Promise<{ count: number; errors: number; bytes?: number }>;

async function measure(
  plane: ControlPlane,
  postgresPid: number | undefined,
  workload: string,
  load: Load,
): Promise<Measure> {
  await load(WARMUP_SECONDS);
  const dtrPids = plane.dtr.map((child) => child.pid as number);
  const before = {
    dtr: cpuSeconds(dtrPids),
    nginx: cpuSeconds([plane.nginx.pid as number]),
    postgres: postgresPid === undefined ? 0 : cpuSeconds([postgresPid]),
  };
  const started = performance.now();
  const { count, errors, bytes } = await load(SECONDS);
  const seconds = (performance.now() - started) / 1000;
  const per = (now: number, then: number) => Math.round(((now - then) / Math.max(1, count)) * 1e6);
  const result: Measure = {
    plane: plane.name,
    workload,
    perSecond: Math.round(count / seconds),
    errors,
    dtrMicros: per(cpuSeconds(dtrPids), before.dtr),
    nginxMicros: per(cpuSeconds([plane.nginx.pid as number]), before.nginx),
    postgresMicros: postgresPid === undefined ? 0 : per(cpuSeconds([postgresPid]), before.postgres),
    ...(bytes === undefined ? {} : { mbPerSecond: Math.round((bytes / seconds / 1e6) * 10) / 10 }),
  };
  log(`${plane.name} ${workload}: ${result.perSecond}/s, DTR ${result.dtrMicros} µs CPU each`);
  return result;
}

/** wrk against one URL for `seconds`: requests completed and non-2xx/3xx answers. */
async function wrk(url: string, headers: Record<string, string>, seconds: number) {
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  const { stdout } = await run('wrk', [...args, url], { maxBuffer: 1 << 20 });
  const count = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  return { count, errors };
}

/** Monolithic pushes of new 256 KiB blobs from 4 clients for `seconds`. */
async function pushes(url: string, seconds: number) {
  const size = 256 * 1024;
  let count = 0;
  let errors = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        const content = randomBytes(size);
        const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
        const answer = await call(`${url}/v2/bench/app/blobs/uploads/?digest=${digest}`, {
          method: 'POST',
          headers: { Authorization: basic(USER), 'Content-Length': String(size) },
          body: content,
        }).catch(() => ({ status: 0 }));
        if (answer.status === 201) count += 1;
        else errors += 1;
      }
    }),
  );
  return { count, errors, bytes: count * size };
}

async function main(): Promise<void> {
  execFileSync(
    process.execPath,
    [join(root, 'tools', 'setup.mjs'), '--apt', 'postgres,nginx,wrk'],
    {
      stdio: 'inherit',
    },
  );
  const work = await mkdtemp(join(tmpdir(), 'dtr-control-plane-bench-'));
  const cache = createServer((_request, response) => response.writeHead(401).end());
  await new Promise<void>((resolve) => cache.listen(0, HOST, resolve));
  const cacheUrl = `http://${HOST}:${(cache.address() as { port: number }).port}`;
  const postgres = await startPostgres({ host: HOST, port: 55490, durable: true });
  const postgresPid = postgres.pid as number;
  const createDatabase = async (name: string) => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: postgres.url() });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    return `database: { url: "${postgres.url(name)}", poolsize: 20 }`;
  };
  const planes: Array<[string, number, () => Promise<string>, boolean]> = [
    ['sqlite ×1', 1, async () => `database: { path: ${join(work, 'dtr.sqlite')} }`, false],
    ['postgresql ×1', 1, () => createDatabase('bench_one'), true],
    ['postgresql ×3', 3, () => createDatabase('bench_three'), true],
  ];
  const results: Measure[] = [];
  try {
    for (const [index, [name, replicas, database, onPostgres]] of planes.entries()) {
      const id = name.replace(/[^a-z0-9]+/g, '-');
      if (PLANES.length > 0 && !PLANES.includes(id)) continue;
      const plane = await startControlPlane(
        id,
        replicas,
        await database(),
        5700 + index * 10,
        work,
      );
      const shown = { ...plane, name };
      try {
        const { layerDigest, bearer } = await provision(plane, cacheUrl);
        const pg = onPostgres ? postgresPid : undefined;
        const workloads: Array<[string, Load]> = [
          [
            'blob redirect',
            (seconds) =>
              wrk(
                `${plane.url}/v2/bench/app/blobs/${layerDigest}`,
                { Authorization: bearer },
                seconds,
              ),
          ],
          [
            'manifest GET',
            (seconds) =>
              wrk(
                `${plane.url}/v2/bench/app/manifests/v1`,
                { Authorization: bearer, Accept: 'application/vnd.oci.image.manifest.v1+json' },
                seconds,
              ),
          ],
          [
            'token',
            (seconds) =>
              wrk(
                `${plane.url}/auth/token?service=dtr&scope=repository:bench/app:pull`,
                { Authorization: basic(USER) },
                seconds,
              ),
          ],
          ['push 256 KiB', (seconds) => pushes(plane.url, seconds)],
        ];
        for (const [workload, load] of workloads) {
          if (WORKLOADS.length > 0 && !WORKLOADS.includes(workload.split(' ')[0] as string))
            continue;
          results.push(await measure(shown, pg, workload, load));
        }
      } finally {
        await plane.close();
      }
    }
  } finally {
    await postgres.stop();
    cache.close();
    agent.destroy();
    for (const child of children) await stop(child);
    if (process.env['BENCH_KEEP'] !== '1') await rm(work, { recursive: true, force: true });
  }
  mkdirSync(join(root, 'artifacts'), { recursive: true });
  writeFileSync(
    join(root, 'artifacts', 'control-plane-benchmark.json'),
    `${JSON.stringify({ at: new Date().toISOString(), seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, connections: CONNECTIONS, results }, null, 2)}\n`,
  );
  const rows = results.map((result) =>
    [
      result.plane.padEnd(14),
      result.workload.padEnd(14),
      String(result.perSecond).padStart(7),
      String(result.errors).padStart(6),
      String(result.dtrMicros).padStart(8),
      String(result.nginxMicros).padStart(7),
      String(result.postgresMicros).padStart(7),
      String(result.dtrMicros + result.nginxMicros + result.postgresMicros).padStart(7),
      result.mbPerSecond === undefined ? '' : `${result.mbPerSecond} MB/s`,
    ].join(' '),
  );
  process.stdout.write(
    `\n${['plane'.padEnd(14), 'workload'.padEnd(14), '    /s', 'errors', ' DTR µs', 'nginx', '   PG', ' total'].join(' ')}   (CPU µs per request)\n${rows.join('\n')}\n`,
  );
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});

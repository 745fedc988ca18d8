/**
 * Benchmark: the content cache side by side with the reference registry (docker-registry) in
 * pull-through proxy mode and nginx serving the same files (the local-disk limit), all in one run
 * on this machine. DTR (dtr-api) is the origin and the upstream of both caches; upstream blob GETs
 * are counted from its access log. Clients are curl and wrk (Node's HTTP client would be the
 * bottleneck).
 *
 *   npm run bench            (writes artifacts/benchmark.json and prints a table)
 *
 * Set BENCH_QUICK=1 for a small smoke run (smaller blobs, shorter load), and
 * BENCH_CACHE_NODE_ARGS for Node flags of the cache process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"),
 * BENCH_ONLY to run some phases only (comma-separated: warm, small, misses, serial, memory, and
 * startup: a cache started on a store of BENCH_STARTUP_BLOBS one-byte blobs, default a million,
 * run only when named), and
 * BENCH_KEEP=1 to keep the working folder (the servers' logs) afterwards.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { chmodSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, processTree, procStatFields } from '@dtr-cache/test-support';
import { serverRuntime } from '../topology/topology';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const quick = process.env['BENCH_QUICK'] === '1';
const MiB = 1024 * 1024;
const BIG = (quick ? 32 : 256) * MiB;
const HUGE = (quick ? 64 : 1024) * MiB;
const SMALL = 64 * 1024;
const SMALL_COUNT = quick ? 20 : 200;
const SERIAL = 20;
const SERIAL_SIZE = 4 * MiB;
const LOAD_SECONDS = quick ? 3 : 6;
/** Rounds of the warm and small-blob measures (the median is reported). */
const ROUNDS = quick ? 1 : 3;
const ADMIN = { user: 'admin', password: 'bench-admin-password' };
const USER = { user: 'bench', password: 'bench-user-password' };
const REPO = 'bench/data';
/** Phases run by default; `startup` (a store of a million blobs) runs only when named. */
const PHASES = ['warm', 'small', 'misses', 'serial', 'memory', 'startup'] as const;
const DEFAULT_PHASES = PHASES.filter((phase) => phase !== 'startup');
const only = (process.env['BENCH_ONLY'] ?? '').split(',').filter(Boolean);
for (const name of only) {
  if (!(PHASES as readonly string[]).includes(name))
    throw new Error(`BENCH_ONLY: unknown phase ${name}; phases are ${PHASES.join(', ')}`);
}
const runs = (phase: (typeof PHASES)[number]) =>
  only.length === 0 ? (DEFAULT_PHASES as readonly string[]).includes(phase) : only.includes(phase);
/** Worker processes of the content cache: one per core, as by default (nginx gets as many). */
const CACHE_PROCESSES = Number(process.env['BENCH_CACHE_WORKERS'] ?? availableParallelism());
/** Blobs on disk in the `startup` phase (BENCH_STARTUP_BLOBS). */
const STARTUP_BLOBS = Number(process.env['BENCH_STARTUP_BLOBS'] ?? (quick ? 20_000 : 1_000_000));

const children: ChildProcess[] = [];
function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function start(
  command: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const out = createWriteStream(logFile);
  const child = spawn(command, args, {
    env: { ...env, ...process.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  children.push(child);
  return child;
}

async function waitHttp(url: string, okStatuses = [200, 401]): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    try {
      const response = await fetch(url);
      if (okStatuses.includes(response.status)) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** Writes `size` random bytes to `path`; returns the sha256 digest. */
async function makeBlob(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(MiB);
  for (let written = 0; written < size; written += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, size - written));
    randomFillSync(part);
    hash.update(part);
    if (!out.write(part)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return `sha256:${hash.digest('hex')}`;
}

const basic = (who: { user: string; password: string }) =>
  `Basic ${Buffer.from(`${who.user}:${who.password}`).toString('base64')}`;

/** curl one URL to /dev/null; returns first-byte and total seconds and bytes. */
async function curl(
  url: string,
  headers: string[] = [],
): Promise<{ firstByte: number; total: number; bytes: number }> {
  const { stdout } = await run(
    'curl',
    [
      '-s',
      '-o',
      '/dev/null',
      '--fail',
      '-L',
      ...headers.flatMap((header) => ['-H', header]),
      '-w',
      '%{time_starttransfer} %{time_total} %{size_download}',
      url,
    ],
    {
      maxBuffer: MiB,
    },
  );
  const [firstByte, total, bytes] = stdout.trim().split(' ').map(Number) as [
    number,
    number,
    number,
  ];
  return { firstByte, total, bytes };
}

/** Waits until the cache at `url` has no fill in progress (its blobs are stored). */
async function fillsDone(url: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const health = (await (await fetch(`${url}/health`)).json()) as { fillsInProgress: number };
    if (health.fillsInProgress === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fills at ${url} did not finish within a minute`);
}

async function parallel(urls: string[]): Promise<{
  seconds: number;
  bytes: number;
  results: Array<{ firstByte: number; total: number; bytes: number }>;
}> {
  const started = process.hrtime.bigint();
  const results = await Promise.all(urls.map((url) => curl(url)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, bytes: results.reduce((sum, result) => sum + result.bytes, 0), results };
}

async function wrk(
  urls: string[],
  directory: string,
  name: string,
): Promise<{ requests: number; requestsPerSecond: number; p50Ms: number; p99Ms: number }> {
  const script = join(directory, `${name}.lua`);
  const base = new URL(urls[0] as string);
  const paths = urls.map((url) => {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  });
  writeFileSync(
    script,
    `local paths = {${paths.map((path) => JSON.stringify(path)).join(',')}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n`,
  );
  const { stdout } = await run(
    'wrk',
    ['-t2', '-c64', `-d${LOAD_SECONDS}s`, '--latency', '-s', script, base.origin],
    { maxBuffer: 4 * MiB },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const toMs = (text: string | undefined) => {
    const match = /([\d.]+)(us|ms|s)/.exec(text ?? '');
    if (!match) return NaN;
    const value = Number(match[1]);
    return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
  };
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  if (errors) throw new Error(`wrk against ${name}: ${errors[1]} error responses\n${stdout}`);
  return {
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN),
    requestsPerSecond: rps,
    p50Ms: toMs(/^\s+50%\s+(\S+)/m.exec(stdout)?.[1]),
    p99Ms: toMs(/^\s+99%\s+(\S+)/m.exec(stdout)?.[1]),
  };
}

/**
 * The resident set of a process and its descendants (the cache's workers), in bytes: the sum of
 * their peaks (VmHWM; an upper bound of their peak together) or of their current sizes (VmRSS).
 */
function rss(pid: number, field: 'VmHWM' | 'VmRSS', members = processTree(pid)): number {
  let total = 0;
  for (const member of members) {
    const status = readFileSync(`/proc/${member}/status`, 'utf8');
    total += Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
  }
  return total;
}

/** Clock ticks per second of /proc's CPU times. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * CPU seconds (user + system) used so far by a process and all its live descendants (nginx's
 * master and workers, the cache's workers), from /proc/<pid>/stat.
 */
function treeCpuSeconds(rootPid: number): number {
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    const fields = procStatFields(pid);
    if (fields) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

/** The cache's worker processes: the children of its primary, or the server itself alone. */
function workersOf(pid: number): number[] {
  const tree = processTree(pid);
  return tree.length > 1 ? tree.slice(1) : tree;
}

/** Runs `load` and returns its result with the CPU seconds `pid`'s process tree spent meanwhile. */
async function withCpu<Result>(
  pid: number,
  load: () => Promise<Result>,
): Promise<{ result: Result; cpuSeconds: number }> {
  const before = treeCpuSeconds(pid);
  const result = await load();
  return { result, cpuSeconds: treeCpuSeconds(pid) - before };
}

async function main(): Promise<void> {
  execFileSync(
    process.execPath,
    [join(root, 'tools', 'setup.mjs'), '--apt', 'docker-registry,nginx,wrk,curl'],
    { stdio: 'inherit' },
  );
  const work = await mkdtemp(join(tmpdir(), 'dtr-cache-bench-'));
  log(`working in ${work}`);
  // nginx's worker user must be able to read the files.
  chmodSync(work, 0o755);
  try {
    const [dtrPort, cachePort, referencePort, nginxPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);

    // DTR, the origin.
    writeFileSync(
      join(work, 'dtr.yml'),
      `log: { level: info }\nstorage: { filesystem: { rootdirectory: ${work}/dtr/blobs } }\nhttp: { addr: "127.0.0.1:${dtrPort}" }\ndatabase: { path: ${work}/dtr/dtr.sqlite }\nauth: { keyfile: ${work}/dtr/token-key.pem, tokenttl: 2h }\nadmin: { password: ${ADMIN.password} }\ngrants: { lifetime: 1h }\ncontentcaches: { healthinterval: 1s }\n`,
    );
    // Each server with the Node options and environment its launcher would add (bin/*.mjs),
    // passed here so that each is one process, as in the container images.
    const dtrRuntime = serverRuntime('dtr-api');
    start(
      process.execPath,
      [
        ...dtrRuntime.nodeOptions,
        join(root, 'apps', 'dtr-api', 'bin', 'dtr-api.mjs'),
        join(work, 'dtr.yml'),
      ],
      join(work, 'dtr.log'),
      dtrRuntime.env,
    );
    const dtr = `http://127.0.0.1:${dtrPort}`;
    await waitHttp(`${dtr}/v2/`);

    // Both caches fill straight from DTR. Upstream blob GETs are counted from DTR's access log
    // (one `request` line per answered request), so no extra hop distorts the miss timings.
    const upstream = dtr;
    const upstreamGets = (digest: string): number =>
      readFileSync(join(work, 'dtr.log'), 'utf8')
        .split('\n')
        .filter(
          (line) =>
            line.includes('msg=request') &&
            line.includes('method=GET') &&
            line.includes(`path=/v2/${REPO}/blobs/${digest} `) &&
            line.includes('status=200'),
        ).length;

    // This content cache.
    writeFileSync(
      join(work, 'cache.yml'),
      `version: 0.1\nlog: { level: warn }\nstorage: { delete: { enabled: true }, filesystem: { rootdirectory: ${work}/cache } }\nhttp: { addr: "127.0.0.1:${cachePort}" }\nmiddleware:\n  registry:\n    - name: downstream\n      options:\n        blobttl: 24h\n        upstreams: [${upstream}]\n        workers: ${CACHE_PROCESSES}\n`,
    );
    // (The process measured for RSS and CPU is thus the cache's server itself, with its workers.)
    const runtime = serverRuntime('content-cache');
    const cacheProcess = start(
      process.execPath,
      [
        ...runtime.nodeOptions,
        ...(process.env['BENCH_CACHE_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
        join(root, 'apps', 'content-cache', 'bin', 'content-cache.mjs'),
        join(work, 'cache.yml'),
      ],
      join(work, 'cache.log'),
      runtime.env,
    );
    const cache = `http://127.0.0.1:${cachePort}`;
    await waitHttp(`${cache}/v2/`);

    // The reference registry as a pull-through proxy of DTR.
    writeFileSync(
      join(work, 'reference.yml'),
      `version: 0.1\nlog: { level: error, accesslog: { disabled: true } }\nstorage: { filesystem: { rootdirectory: ${work}/reference }, delete: { enabled: true } }\nhttp: { addr: "127.0.0.1:${referencePort}" }\nproxy: { remoteurl: "${upstream}", username: ${ADMIN.user}, password: ${ADMIN.password} }\n`,
    );
    const referenceProcess = start(
      'docker-registry',
      ['serve', join(work, 'reference.yml')],
      join(work, 'reference.log'),
    );
    const reference = `http://127.0.0.1:${referencePort}`;
    await waitHttp(`${reference}/v2/`);

    // nginx serving the same files from local disk, with as many workers as the cache has
    // processes (CPU per unit of work is compared, and requests/s on equal terms).
    mkdirSync(join(work, 'files'), { recursive: true });
    writeFileSync(
      join(work, 'nginx.conf'),
      `daemon off;\nworker_processes ${CACHE_PROCESSES};\npid ${work}/nginx.pid;\nerror_log ${work}/nginx-error.log;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000;\n  client_body_temp_path ${work}/nginx-tmp;\n  server {\n    listen 127.0.0.1:${nginxPort};\n    root ${work}/files;\n  }\n}\n`,
    );
    const nginxProcess = start(
      'nginx',
      ['-c', join(work, 'nginx.conf'), '-p', work],
      join(work, 'nginx.log'),
    );
    const nginx = `http://127.0.0.1:${nginxPort}`;
    await waitHttp(`${nginx}/`, [200, 403, 404]);

    // A user whose blob pulls DTR redirects to this cache.
    const json = (body: unknown) => ({
      method: 'POST',
      headers: { Authorization: basic(ADMIN), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    await fetch(
      `${dtr}/api/v0/accounts`,
      json({ name: USER.user, type: 'user', password: USER.password }),
    );
    await fetch(`${dtr}/api/v0/content_caches`, json({ name: 'bench', host: cache }));
    await fetch(`${dtr}/api/v0/accounts/${USER.user}/settings`, {
      ...json({ contentCache: 'bench' }),
      method: 'PATCH',
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));

    /** Creates a blob, pushes it to DTR and nginx's directory; returns the URLs per server. */
    const blobs: Array<{ digest: string; size: number }> = [];
    const push = async (size: number) => {
      const path = join(work, 'files', `blob-${blobs.length}`);
      const digest = await makeBlob(path, size);
      await run('curl', [
        '-s',
        '--fail',
        '-X',
        'POST',
        '-H',
        `Authorization: ${basic(ADMIN)}`,
        '-H',
        'Content-Type: application/octet-stream',
        '-T',
        path,
        `${dtr}/v2/${REPO}/blobs/uploads?digest=${digest}`,
      ]);
      blobs.push({ digest, size });
      const redirect = await fetch(`${dtr}/v2/${REPO}/blobs/${digest}`, {
        headers: { Authorization: basic(USER) },
        redirect: 'manual',
      });
      if (redirect.status !== 307)
        throw new Error(`expected a redirect to the cache, got ${redirect.status}`);
      return {
        digest,
        cache: redirect.headers.get('location') as string,
        reference: `${reference}/v2/${REPO}/blobs/${digest}`,
        nginx: `${nginx}/blob-${blobs.length - 1}`,
        origin: `${dtr}/v2/${REPO}/blobs/${digest}`,
      };
    };

    log('creating and pushing blobs');
    const big = await push(BIG);
    const small: Array<Awaited<ReturnType<typeof push>>> = [];
    if (runs('small'))
      for (let index = 0; index < SMALL_COUNT; index += 1) small.push(await push(SMALL));
    // (Fetched after the first pushes: a token only covers repositories that exist.)
    // Origin requests carry a bearer token, as registry clients do (a password would cost a
    // scrypt check per request and flatter the caches' ratios).
    const tokenAnswer = await fetch(`${dtr}/auth/token?service=dtr&scope=repository:${REPO}:pull`, {
      headers: { Authorization: basic(ADMIN) },
    });
    const originHeader = [
      `Authorization: Bearer ${((await tokenAnswer.json()) as { token: string }).token}`,
    ];

    const results: Record<string, unknown> = {
      quick,
      phases: only.length === 0 ? PHASES : only,
      sizes: { big: BIG, huge: HUGE, small: SMALL },
      cacheWorkers: CACHE_PROCESSES,
      nginxWorkers: CACHE_PROCESSES,
    };
    const servers = { cache: 'cache', reference: 'reference', nginx: 'nginx' } as const;
    /** The process (tree) of each server, whose CPU time is measured around each load. */
    const pids: Record<keyof typeof servers, number> = {
      cache: cacheProcess.pid as number,
      reference: referenceProcess.pid as number,
      nginx: nginxProcess.pid as number,
    };
    // The cache's resident set after each phase: what a phase leaves behind, in MB.
    const rssAfter: Record<string, number> = {};
    results['cacheRssAfterPhaseMB'] = rssAfter;
    const phaseDone = (phase: (typeof PHASES)[number]) => {
      rssAfter[phase] = rss(cacheProcess.pid as number, 'VmRSS') / 1e6;
    };
    rssAfter['start'] = rss(cacheProcess.pid as number, 'VmRSS') / 1e6;

    // The warm and small-blob measures swing between runs on this shared 2-core machine (warm
    // 8 clients: 1.2 to 2.9 GB/s for the same code). Each is taken ROUNDS times, the servers taking
    // turns within a round, and the median is reported (every round is in the JSON).
    /** The middle item by `value` (the median one). */
    const middle = <Item>(items: Item[], value: (item: Item) => number): Item =>
      [...items].sort((a, b) => value(a) - value(b))[Math.floor(items.length / 2)] as Item;
    const median = (values: number[]) => middle(values, (value) => value);

    if (runs('warm')) {
      log(`warm throughput, 1 and 8 clients (${ROUNDS} rounds)`);
      for (const server of Object.values(servers)) {
        await curl(big[server]);
        // Warm means stored: a body ends once verified, the fill commits (fsync, rename) just after.
        if (server === 'cache') await fillsDone(cache);
      }
      const rounds: Record<
        string,
        Array<{ oneClientMBps: number; eightClientsMBps: number; cpuSecondsPerGB: number }>
      > = {};
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const server of Object.values(servers)) {
          const { result, cpuSeconds } = await withCpu(pids[server], async () => ({
            one: await parallel([big[server]]),
            eight: await parallel(Array.from({ length: 8 }, () => big[server])),
          }));
          const { one, eight } = result;
          (rounds[server] ??= []).push({
            oneClientMBps: one.bytes / one.seconds / 1e6,
            eightClientsMBps: eight.bytes / eight.seconds / 1e6,
            cpuSecondsPerGB: cpuSeconds / ((one.bytes + eight.bytes) / 1e9),
          });
        }
      }
      const warm: Record<string, unknown> = {};
      for (const [server, measured] of Object.entries(rounds)) {
        warm[server] = {
          oneClientMBps: median(measured.map((round) => round.oneClientMBps)),
          eightClientsMBps: median(measured.map((round) => round.eightClientsMBps)),
          cpuSecondsPerGB: median(measured.map((round) => round.cpuSecondsPerGB)),
          rounds: measured,
        };
      }
      results['warmThroughput'] = warm;
      phaseDone('warm');
    }

    if (runs('small')) {
      log(`64 KiB blobs, 64 connections (${ROUNDS} rounds)`);
      for (const server of Object.values(servers)) {
        for (const blob of small) await curl(blob[server]);
        if (server === 'cache') await fillsDone(cache);
      }
      const rounds: Record<
        string,
        Array<Awaited<ReturnType<typeof wrk>> & { cpuMicrosPerRequest: number }>
      > = {};
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const server of Object.values(servers)) {
          const { result, cpuSeconds } = await withCpu(pids[server], () =>
            wrk(
              small.map((blob) => blob[server]),
              work,
              server,
            ),
          );
          (rounds[server] ??= []).push({
            ...result,
            cpuMicrosPerRequest: (cpuSeconds * 1e6) / result.requests,
          });
        }
      }
      const smallLoad: Record<string, unknown> = {};
      for (const [server, measured] of Object.entries(rounds)) {
        // The median round by requests/s, with its own latencies.
        smallLoad[server] = {
          ...middle(measured, (round) => round.requestsPerSecond),
          cpuMicrosPerRequest: median(measured.map((round) => round.cpuMicrosPerRequest)),
          rounds: measured,
        };
      }
      results['smallBlobs'] = smallLoad;
      phaseDone('small');
    }

    if (runs('misses')) {
      log('16 simultaneous misses of one blob');
      const misses: Record<string, unknown> = {};
      for (const server of ['cache', 'reference'] as const) {
        const single = await push(BIG);
        const alone = await parallel([single[server]]);
        const shared = await push(BIG);
        const burst = await parallel(Array.from({ length: 16 }, () => shared[server]));
        // (DTR's log reaches its file through this process: give the last line a moment.)
        await new Promise((resolve) => setTimeout(resolve, 500));
        const origin = await curl(single.origin, originHeader);
        misses[server] = {
          upstreamGets: upstreamGets(shared.digest),
          allSixteenSeconds: burst.seconds,
          oneClientSeconds: alone.seconds,
          ratioToOneClient: burst.seconds / alone.seconds,
          firstByteMs: Math.max(...burst.results.map((result) => result.firstByte)) * 1000,
          // (The single client's own request: a second request would be a hit.)
          singleMissFirstByteMs: (alone.results[0]?.firstByte ?? NaN) * 1000,
          originFirstByteMs: origin.firstByte * 1000,
          originSeconds: origin.total,
          allBytesCorrectLength: burst.results.every((result) => result.bytes === BIG),
        };
      }
      // The floor for "all 16 done": nginx sending the same bytes to 16 clients from local disk
      // (its page cache), i.e. what delivering 16 copies costs on this machine at all.
      await curl(big.nginx);
      misses['nginx'] = {
        allSixteenSeconds: (await parallel(Array.from({ length: 16 }, () => big.nginx))).seconds,
      };
      results['simultaneousMisses'] = misses;
      phaseDone('misses');
    }

    if (runs('serial')) {
      log('20 serial 4 MiB misses');
      const serial: Record<string, number> = {};
      const serialBlobs = [];
      for (let index = 0; index < SERIAL; index += 1) serialBlobs.push(await push(SERIAL_SIZE));
      // Each request's first byte and end (curl's own clock), to see where a miss spends its time.
      const timed = async (urls: string[], headers: string[] = []) => {
        const started = process.hrtime.bigint();
        const each = [];
        for (const url of urls) each.push(await curl(url, headers));
        return {
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
          medianFirstByteMs: median(each.map((result) => result.firstByte)) * 1000,
          medianTotalMs: median(each.map((result) => result.total)) * 1000,
        };
      };
      const origin = await timed(
        serialBlobs.map((blob) => blob.origin),
        originHeader,
      );
      serial['originSeconds'] = origin.seconds;
      serial['originMedianFirstByteMs'] = origin.medianFirstByteMs;
      serial['originMedianTotalMs'] = origin.medianTotalMs;
      for (const server of ['cache', 'reference'] as const) {
        const fresh = [];
        for (let index = 0; index < SERIAL; index += 1) fresh.push(await push(SERIAL_SIZE));
        const misses = await timed(fresh.map((blob) => blob[server]));
        serial[`${server}Seconds`] = misses.seconds;
        serial[`${server}MedianFirstByteMs`] = misses.medianFirstByteMs;
        serial[`${server}MedianTotalMs`] = misses.medianTotalMs;
      }
      serial['cacheRatioToOrigin'] =
        (serial['cacheSeconds'] as number) / (serial['originSeconds'] as number);
      serial['referenceRatioToOrigin'] =
        (serial['referenceSeconds'] as number) / (serial['originSeconds'] as number);
      results['serialMisses'] = serial;
      phaseDone('serial');
    }

    if (runs('memory')) {
      log('peak RSS while serving 8 clients a 1 GiB miss');
      const huge = await push(HUGE);
      // VmHWM is the peak of the process's whole life (the 16-client misses included): reset it
      // (Linux's clear_refs "5"), so the peak read below is this phase's.
      const pid = cacheProcess.pid as number;
      const rssBefore = rss(pid, 'VmRSS');
      for (const member of processTree(pid)) writeFileSync(`/proc/${member}/clear_refs`, '5');
      const hugeRun = await parallel(Array.from({ length: 8 }, () => huge.cache));
      results['memory'] = {
        // (The sum of each process's peak: at most what they held together at any moment.)
        cachePeakRssMB: rss(pid, 'VmHWM') / 1e6,
        // The workers' alone (with several, the primary serves nothing): the target's measure.
        workersPeakRssMB: rss(pid, 'VmHWM', workersOf(pid)) / 1e6,
        cacheProcesses: processTree(pid).length,
        cacheRssBeforeMB: rssBefore / 1e6,
        eightClientsOneGiBSeconds: hugeRun.seconds,
        allBytesCorrectLength: hugeRun.results.every((result) => result.bytes === HUGE),
        upstreamGets: upstreamGets(huge.digest),
      };
      phaseDone('memory');
    }

    if (runs('startup')) {
      log(`a cache started on a store of ${STARTUP_BLOBS} tiny blobs`);
      const store = join(work, 'startup-cache');
      writeTinyBlobs(store, STARTUP_BLOBS);
      const port = await freePort();
      writeFileSync(
        join(work, 'startup.yml'),
        `version: 0.1\nlog: { level: info, accesslog: { disabled: true } }\nstorage: { delete: { enabled: true }, filesystem: { rootdirectory: ${store} } }\nhttp: { addr: "127.0.0.1:${port}" }\nmiddleware:\n  registry:\n    - name: downstream\n      options:\n        blobttl: 24h\n        upstreams: [${upstream}]\n`,
      );
      const logFile = join(work, 'startup.log');
      const started = process.hrtime.bigint();
      const startup = start(
        process.execPath,
        [
          ...runtime.nodeOptions,
          join(root, 'apps', 'content-cache', 'bin', 'content-cache.mjs'),
          join(work, 'startup.yml'),
        ],
        logFile,
        runtime.env,
      );
      // The first answer: the API base, then a blob of the store (a hit while the index loads).
      for (;;) {
        const answered = await fetch(`http://127.0.0.1:${port}/v2/`).then(
          (response) => response.status === 200,
          () => false,
        );
        if (answered) break;
        if (Number(process.hrtime.bigint() - started) / 1e9 > 120)
          throw new Error('the cache on a large store did not answer within 2 minutes');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const firstAnswerMs = Number(process.hrtime.bigint() - started) / 1e6;
      const pid = startup.pid as number;
      const rssAtFirstAnswer = rss(pid, 'VmRSS');
      let loaded: RegExpExecArray | null = null;
      while (!loaded) {
        loaded = /msg="blob index loaded".*?blobs=(\d+).*?indexBytes=(\d+).*?durationMs=(\d+)/.exec(
          readFileSync(logFile, 'utf8'),
        );
        if (Number(process.hrtime.bigint() - started) / 1e9 > 1800)
          throw new Error('the index of the large store was not loaded within 30 minutes');
        if (!loaded) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const [, indexed, indexBytes, loadMs] = loaded.map(Number) as [
        number,
        number,
        number,
        number,
      ];
      results['startup'] = {
        blobsOnDisk: STARTUP_BLOBS,
        firstAnswerMs,
        blobsIndexed: indexed,
        indexBytesPerBlob: indexBytes / indexed,
        indexLoadSeconds: loadMs / 1000,
        rssAtFirstAnswerMB: rssAtFirstAnswer / 1e6,
        rssAfterIndexMB: rss(pid, 'VmRSS') / 1e6,
      };
      startup.kill('SIGTERM');
    }

    const out = join(root, 'artifacts', 'benchmark.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    printTable(results);
    log(`wrote ${out}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const child of children) child.kill('SIGKILL');
    if (process.env['BENCH_KEEP'] === '1') log(`kept ${work} (logs)`);
    else await rm(work, { recursive: true, force: true });
  }
}

/**
 * Writes `count` tiny blobs straight into a cache's storage layout (blobs/sha256/<2 hex>/<hex>):
 * blob n holds the decimal text of n (one to seven bytes, so every blob has a digest of its own).
 */
function writeTinyBlobs(root: string, count: number): void {
  for (let fanOut = 0; fanOut < 256; fanOut += 1)
    mkdirSync(join(root, 'blobs', 'sha256', fanOut.toString(16).padStart(2, '0')), {
      recursive: true,
    });
  for (let n = 0; n < count; n += 1) {
    const content = String(n);
    const hex = createHash('sha256').update(content).digest('hex');
    writeFileSync(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex), content);
  }
}

function printTable(results: Record<string, unknown>): void {
  const warm = (results['warmThroughput'] ?? {}) as Record<
    string,
    { oneClientMBps: number; eightClientsMBps: number; cpuSecondsPerGB: number }
  >;
  const small = (results['smallBlobs'] ?? {}) as Record<
    string,
    { requestsPerSecond: number; p50Ms: number; p99Ms: number; cpuMicrosPerRequest: number }
  >;
  const misses = (results['simultaneousMisses'] ?? {}) as Record<string, Record<string, number>>;
  const serial = (results['serialMisses'] ?? {}) as Record<string, number>;
  const memory = (results['memory'] ?? {}) as Record<string, number>;
  const f = (value: number | undefined, digits = 1) =>
    value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits);
  const lines = [
    '| measure | content-cache | reference proxy | nginx |',
    '| --- | --- | --- | --- |',
    `| warm ${results['quick'] ? 'big' : '256 MiB'} blob, 1 client (MB/s, median of rounds) | ${f(warm['cache']?.oneClientMBps, 0)} | ${f(warm['reference']?.oneClientMBps, 0)} | ${f(warm['nginx']?.oneClientMBps, 0)} |`,
    `| warm, 8 clients (MB/s, median of rounds) | ${f(warm['cache']?.eightClientsMBps, 0)} | ${f(warm['reference']?.eightClientsMBps, 0)} | ${f(warm['nginx']?.eightClientsMBps, 0)} |`,
    `| warm: CPU seconds per GB served (whole process tree) | ${f(warm['cache']?.cpuSecondsPerGB, 2)} | ${f(warm['reference']?.cpuSecondsPerGB, 2)} | ${f(warm['nginx']?.cpuSecondsPerGB, 2)} |`,
    `| 64 KiB blobs, 64 connections (req/s, median round) | ${f(small['cache']?.requestsPerSecond, 0)} | ${f(small['reference']?.requestsPerSecond, 0)} | ${f(small['nginx']?.requestsPerSecond, 0)} |`,
    `| 64 KiB p50 / p99 (ms) | ${f(small['cache']?.p50Ms, 2)} / ${f(small['cache']?.p99Ms, 2)} | ${f(small['reference']?.p50Ms, 2)} / ${f(small['reference']?.p99Ms, 2)} | ${f(small['nginx']?.p50Ms, 2)} / ${f(small['nginx']?.p99Ms, 2)} |`,
    `| 64 KiB: CPU µs per request (whole process tree) | ${f(small['cache']?.cpuMicrosPerRequest, 0)} | ${f(small['reference']?.cpuMicrosPerRequest, 0)} | ${f(small['nginx']?.cpuMicrosPerRequest, 0)} |`,
    `| 16 simultaneous misses: upstream GETs | ${f(misses['cache']?.['upstreamGets'], 0)} | ${f(misses['reference']?.['upstreamGets'], 0)} | — |`,
    `| 16 misses: all done (s) / one client alone (s) | ${f(misses['cache']?.['allSixteenSeconds'], 2)} / ${f(misses['cache']?.['oneClientSeconds'], 2)} | ${f(misses['reference']?.['allSixteenSeconds'], 2)} / ${f(misses['reference']?.['oneClientSeconds'], 2)} | ${f(misses['nginx']?.['allSixteenSeconds'], 2)} (warm: the floor) |`,
    `| the same blob straight from the origin, one client (s) | ${f(misses['cache']?.['originSeconds'], 2)} | ${f(misses['reference']?.['originSeconds'], 2)} | — |`,
    `| miss first byte (ms), origin's first byte (ms) | ${f(misses['cache']?.['singleMissFirstByteMs'])}, ${f(misses['cache']?.['originFirstByteMs'])} | ${f(misses['reference']?.['singleMissFirstByteMs'])}, ${f(misses['reference']?.['originFirstByteMs'])} | — |`,
    `| 20 serial 4 MiB misses (s), origin ${f(serial['originSeconds'], 2)} s | ${f(serial['cacheSeconds'], 2)} (${f(serial['cacheRatioToOrigin'], 2)}×) | ${f(serial['referenceSeconds'], 2)} (${f(serial['referenceRatioToOrigin'], 2)}×) | — |`,
    `| a serial miss, median first byte / end (ms), origin ${f(serial['originMedianFirstByteMs'])} / ${f(serial['originMedianTotalMs'])} | ${f(serial['cacheMedianFirstByteMs'])} / ${f(serial['cacheMedianTotalMs'])} | ${f(serial['referenceMedianFirstByteMs'])} / ${f(serial['referenceMedianTotalMs'])} | — |`,
    `| cache peak RSS, 8 clients × ${results['quick'] ? 'huge' : '1 GiB'} miss (MB): all processes, workers alone (sums of peaks) | ${f(memory['cachePeakRssMB'], 0)}, ${f(memory['workersPeakRssMB'], 0)} | — | — |`,
  ];
  const startup = results['startup'] as Record<string, number> | undefined;
  if (startup)
    lines.push(
      `| ${startup['blobsOnDisk']} blobs on disk: first answer (ms), index bytes per blob, index built (s) | ${f(startup['firstAnswerMs'], 0)}, ${f(startup['indexBytesPerBlob'], 0)}, ${f(startup['indexLoadSeconds'], 1)} | — | — |`,
    );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});

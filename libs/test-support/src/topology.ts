import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getResults } from './cache-log';

/** The checkout this library is in (the topology's scripts are run from there). */
export const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const run = promisify(execFile);

export interface User {
  username: string;
  password: string;
}

/** What `npm start` wrote to `endpoints.json`. */
export interface Endpoints {
  dtr: {
    url: string;
    /** `start:ha` only: the replicas behind nginx, and PostgreSQL. */
    replicas?: Array<{ name: string; url: string; log: string }>;
    postgres?: { host: string; port: number; url: string; dataDirectory: string };
  };
  /** Each cache (group): its first member's URL and log, each member, its client networks. */
  caches: Record<
    string,
    {
      url: string;
      log: string;
      members: Array<{ name: string; url: string; log: string }>;
      networks: string[];
    }
  >;
  users: Record<'admin' | 'demo', User>;
  clientCertDir: string;
  data: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Reads a response to its end as an {@link Answer}; rejects if the body fails. */
export function answerOf(incoming: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () =>
      resolve({
        status: incoming.statusCode ?? 0,
        headers: incoming.headers,
        body: Buffer.concat(chunks),
      }),
    );
    incoming.on('error', reject);
  });
}

export const basic = (user: User) =>
  `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;

/** A running `npm start` topology (tools/topology/start.ts) in a data folder of its own. */
export interface RunningTopology {
  readonly data: string;
  readonly endpoints: Endpoints;
  /** The CAs of the topology's TLS servers (DTR, san-francisco, los-angeles). */
  readonly cas: Buffer[];
  /** Everything start.ts printed. */
  output(): string;
  /** One HTTP(S) request trusting the topology's CAs. */
  call(
    url: string,
    options?: { method?: string; auth?: string; body?: Buffer | string; type?: string },
  ): Promise<Answer>;
  /** Lines of a server's log (`dtr`, `region-us`, `region-us-2`, `san-francisco`, `los-angeles`). */
  logLines(server: string): Promise<string[]>;
  /** `cache=` of a cache's GET blob request lines for `digest`, in order (miss, hit, …). */
  cacheResults(cache: string, digest: string): Promise<string[]>;
  /** `status=` of DTR's GET request lines for a blob of `repository`. */
  dtrBlobStatuses(repository: string, digest: string): Promise<number[]>;
  /** `skopeo --insecure-policy …`, trusting the topology's CAs where `--*-cert-dir` is given. */
  skopeo(args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** skopeo copy of the OCI layout at `layout` (tag v1) to `reference` in DTR, as `creds`. */
  push(layout: string, reference: string, creds: string): Promise<unknown>;
  /** skopeo copy of `reference` from DTR, as `creds`, into the OCI layout at `into` (tag latest). */
  pull(reference: string, creds: string, into: string): Promise<unknown>;
  /** Ctrl-C; resolves with start.ts's exit code. */
  stop(): Promise<number | null>;
  /** Stops (SIGKILL after 15 s) and deletes the data folder; for afterAll. */
  dispose(): Promise<void>;
}

/**
 * Starts the process topology on the four addresses from `firstHost` on (e.g. 127.0.0.30 → .30,
 * .31, .32, .33), with extra environment variables, and waits until it printed its endpoints;
 * with `ha`, the `start:ha` control plane (PostgreSQL, three DTR replicas behind nginx).
 * @throws Error with start.ts's output if it did not start within 150 s.
 */
export async function startTopology(
  firstHost: string,
  env: Record<string, string> = {},
  options: { ha?: boolean } = {},
): Promise<RunningTopology> {
  const data = await mkdtemp(join(tmpdir(), 'dtr-topology-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'tools/topology/start.ts', ...(options.ha ? ['--ha'] : [])],
    {
      cwd: workspaceRoot,
      env: {
        ...process.env,
        DTR_DATA: data,
        // The caches follow on the next three addresses.
        DTR_HOST: firstHost,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const stop = async () => {
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const dispose = async () => {
    await stop();
    await rm(data, { recursive: true, force: true });
  };

  const deadline = Date.now() + 150_000;
  while (!output.includes('Press Ctrl-C to stop')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await dispose();
      throw new Error(`the topology did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const endpoints = JSON.parse(await readFile(join(data, 'endpoints.json'), 'utf8')) as Endpoints;
  const ca = await Promise.all(
    ['dtr', 'san-francisco', 'los-angeles'].map((name) =>
      readFile(join(endpoints.clientCertDir, `${name}-ca.crt`)),
    ),
  );

  const call: RunningTopology['call'] = (url, options = {}) =>
    new Promise((resolve, reject) => {
      const send = url.startsWith('https:') ? request : httpRequest;
      const outgoing = send(
        url,
        {
          method: options.method ?? 'GET',
          ca,
          headers: {
            ...(options.auth ? { Authorization: options.auth } : {}),
            ...(options.type ? { 'Content-Type': options.type } : {}),
          },
        },
        (incoming) => resolve(answerOf(incoming)),
      );
      outgoing.on('error', reject);
      outgoing.end(options.body);
    });

  const registry = new URL(endpoints.dtr.url).host;
  const skopeo = (args: string[]) =>
    run('skopeo', ['--insecure-policy', ...args], { timeout: 120_000, cwd: data });
  const logLines = async (server: string) =>
    (await readFile(join(data, 'logs', `${server}.log`), 'utf8')).split('\n');

  return {
    data,
    endpoints,
    cas: ca,
    output: () => output,
    call,
    logLines,
    cacheResults: async (cache, digest) => getResults(await logLines(cache), digest),
    dtrBlobStatuses: async (repository, digest) =>
      (await logLines('dtr'))
        .filter(
          (line) =>
            line.includes('msg=request') &&
            line.includes('method=GET') &&
            line.includes(`path=/v2/${repository}/blobs/${digest} `),
        )
        .map((line) => Number(/status=(\d+)/.exec(line)?.[1])),
    skopeo,
    push: (layout, reference, creds) =>
      skopeo([
        'copy',
        '--dest-cert-dir',
        endpoints.clientCertDir,
        '--dest-creds',
        creds,
        `oci:${layout}:v1`,
        `docker://${registry}/${reference}`,
      ]),
    pull: (reference, creds, into) =>
      skopeo([
        'copy',
        '--src-cert-dir',
        endpoints.clientCertDir,
        '--src-creds',
        creds,
        `docker://${registry}/${reference}`,
        `oci:${into}:latest`,
      ]),
    stop,
    dispose,
  };
}

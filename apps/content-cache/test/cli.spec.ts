import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, generateCertificates, httpsGet } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheBin as bin, startCache, stopCache as stop } from './cache-process';
import { StandInOrigin } from './stand-in-origin';

const appRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const workspaceRoot = join(appRoot, '..', '..');
const references = join(workspaceRoot, 'libs', 'config', 'test', 'fixtures', 'reference');

function run(args: string[], program = bin): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [program, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** The server's Node options and environment, as the launcher applies them. */
function serverRuntime(): { nodeOptions: string[]; env: Record<string, string> } {
  return JSON.parse(readFileSync(join(appRoot, 'bin', 'server-runtime.json'), 'utf8')) as {
    nodeOptions: string[];
    env: Record<string, string>;
  };
}

/** True while `pid` runs (a zombie, exited but not yet reaped, does not count). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('content-cache /config.yml, with the reference configurations', () => {
  let directory: string;
  let origin: StandInOrigin;
  let ca: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'cache-cli-'));
    generateCertificates(join(directory, 'certs'), 'dtr=127.0.0.1', 'cache=127.0.0.1,localhost');
    ca = await readFile(join(directory, 'certs', 'ca.pem'), 'utf8');
    origin = await StandInOrigin.startWithCertificates(join(directory, 'certs'));
  });

  afterAll(async () => {
    await origin.close();
    await rm(directory, { recursive: true, force: true });
  });

  /** The reference file with only hosts, ports and paths replaced. */
  async function reference(file: string, addr = '127.0.0.1:0'): Promise<string> {
    const text = (await readFile(join(references, file), 'utf8'))
      .replaceAll('<dtr-url>', new URL(origin.url).host)
      .replaceAll('/certs/dtr-ca.pem', join(directory, 'certs', 'ca.pem'))
      .replaceAll('/certs/content-cache-ca.pem', join(directory, 'certs', 'cache.pem'))
      .replaceAll('/certs/content-cache-key.pem', join(directory, 'certs', 'cache-key.pem'))
      .replaceAll('/var/lib/registry', join(directory, `${file}-data`))
      .replace('addr: :5000', `addr: ${addr}`);
    const path = join(directory, file);
    await writeFile(path, text);
    return path;
  }

  it('simple.yml: fills from DTR over TLS trusting only its CA, logs miss then hit, stops on SIGTERM', async () => {
    const started = await startCache(await reference('simple.yml'));
    try {
      const content = randomBytes(300_000);
      const digest = origin.add(content);
      const url = `http://127.0.0.1:${started.port}/v2/team/app/blobs/${digest}?grant=${await origin.grant('team/app', digest)}`;
      for (let pull = 0; pull < 2; pull += 1) {
        const response = await fetch(url);
        expect(response.status).toBe(200);
        expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
        // A body ends once verified; the blob is stored (durable) just after.
        for (let attempt = 0; attempt < 50; attempt += 1) {
          const health = await fetch(`http://127.0.0.1:${started.port}/health`);
          if (((await health.json()) as { fillsInProgress: number }).fillsInProgress === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      expect(origin.blobGets(digest)).toBe(1);
      // The access log line is written when the response closes, just after the client is done.
      const results = () =>
        started
          .output()
          .split('\n')
          .filter(
            (line) => line.includes('msg="blob request"') && line.includes(`digest=${digest}`),
          )
          .map((line) => /cache=(\w+)/.exec(line)?.[1]);
      for (let attempt = 0; attempt < 50 && results().length < 2; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(results()).toEqual(['miss', 'hit']);
    } finally {
      expect(await stop(started)).toBe(0);
    }
  });

  it('simple.yml: a SIGTERM during a download finishes it and keeps the blob (its client had left)', async () => {
    // One process (a cache with workers drains them through its primary: its own test).
    const config = await reference('simple.yml');
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace(
        'blobttl: 24h',
        'blobttl: 24h\n          workers: 1',
      ),
    );
    const content = randomBytes(20 * 64 * 1024);
    const digest = origin.add(content, { kind: 'slow', delayMs: 150 });
    const first = await startCache(config);
    const url = async (port: number) =>
      `http://127.0.0.1:${port}/v2/team/app/blobs/${digest}?grant=${await origin.grant('team/app', digest)}`;
    const client = new AbortController();
    const response = await fetch(await url(first.port), { signal: client.signal });
    expect(response.status).toBe(200);
    await response.body?.getReader().read();
    client.abort();
    expect(await stop(first)).toBe(0);
    // Started again on the same disk: a hit, with no second download.
    const second = await startCache(config);
    try {
      const again = await fetch(await url(second.port));
      expect(Buffer.from(await again.arrayBuffer()).equals(content)).toBe(true);
      expect(origin.blobGets(digest)).toBe(1);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  });

  it('tls.yml: serves HTTPS with its certificate', async () => {
    const started = await startCache(await reference('tls.yml'));
    try {
      const content = randomBytes(1000);
      const digest = origin.add(content);
      const response = await httpsGet(
        `https://localhost:${started.port}/v2/team/app/blobs/${digest}?grant=${await origin.grant('team/app', digest)}`,
        ca,
      );
      expect(response.status).toBe(200);
      expect(response.body.equals(content)).toBe(true);
    } finally {
      expect(await stop(started)).toBe(0);
    }
  });

  it('tls.yml: its container health check passes while it serves and fails once it stopped', async () => {
    const port = await freePort();
    const configFile = await reference('tls.yml', `127.0.0.1:${port}`);
    const healthcheck = join(appRoot, 'bin', 'content-cache-healthcheck.mjs');
    const started = await startCache(configFile);
    try {
      expect((await run([configFile], healthcheck)).code).toBe(0);
    } finally {
      expect(await stop(started)).toBe(0);
    }
    const after = await run([configFile], healthcheck);
    expect(after.code).toBe(1);
  });

  it('refuses to start with a bad configuration, naming the key', async () => {
    const path = join(directory, 'bad.yml');
    await writeFile(
      path,
      (await readFile(await reference('simple.yml'), 'utf8')).replace(
        'blobttl: 24h',
        'blobttl: 24x',
      ),
    );
    const bad = await run([path]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain(
      'middleware.registry[0].options.blobttl: "24x" is not a duration (use ns, us, ms, s, m or h)',
    );

    await writeFile(
      path,
      (await readFile(await reference('simple.yml'), 'utf8')).replace(
        join(directory, 'certs', 'ca.pem'),
        '/nonexistent/ca.pem',
      ),
    );
    const unreadable = await run([path]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.output).toContain(
      'middleware.registry[0].options.cas[0]: cannot read "/nonexistent/ca.pem" (ENOENT)',
    );

    await writeFile(path, 'version: 0.1\nstorage: { inmemory: }\n');
    const noDownstream = await run([path]);
    expect(noDownstream.code).toBe(2);
    expect(noDownstream.output).toContain(
      'middleware.registry: the content cache needs the downstream middleware',
    );
  });

  it('starts the container image server as its launcher would (server-runtime.json)', async () => {
    const runtime = serverRuntime();
    const dockerfile = await readFile(join(appRoot, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint ?? '[]')).toEqual([
      'node',
      ...runtime.nodeOptions,
      '/app/apps/content-cache/bin/content-cache.mjs',
    ]);
    const env = [...dockerfile.matchAll(/^ENV (.*)$/gm)].flatMap((line) =>
      (line[1] ?? '').split(' '),
    );
    for (const [name, value] of Object.entries(runtime.env))
      expect(env).toContain(`${name}=${value}`);
  });

  it('runs the server with the heap flag, which stops even when its launcher is killed', async () => {
    // The server runs its sources bundled into a temporary module (which its workers load too),
    // removed once it stopped.
    const temporary = join(directory, 'tmp-heap-flag');
    await mkdir(temporary);
    // The bundle of a server killed with SIGKILL (its pid no longer runs) is removed at start.
    let gone = 4_194_000;
    while (isRunning(gone)) gone -= 1;
    await mkdir(join(temporary, `content-cache-${gone}-stale`));
    const started = await startCache(await reference('simple.yml'), { TMPDIR: temporary });
    expect(await readdir(temporary)).toEqual([expect.stringMatching(/^content-cache-\d+-/)]);
    expect(await readdir(temporary)).not.toContain(`content-cache-${gone}-stale`);
    const launcher = started.child.pid as number;
    const servers = () =>
      execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(launcher)], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.includes('content-cache.mjs'));
    let server: number | undefined;
    try {
      const lines = servers();
      expect(lines).toHaveLength(1);
      const runtime = serverRuntime();
      for (const option of runtime.nodeOptions) expect(lines[0]).toContain(option);
      server = Number(lines[0]?.trim().split(' ')[0]);
      const environment = readFileSync(`/proc/${server}/environ`, 'utf8').split('\0');
      for (const [name, value] of Object.entries(runtime.env))
        expect(environment).toContain(`${name}=${value}`);
      expect((await fetch(`http://127.0.0.1:${started.port}/health`)).status).toBe(200);
      started.child.kill('SIGKILL');
      await expect
        .poll(() =>
          fetch(`http://127.0.0.1:${started.port}/health`).then(
            () => 'up',
            () => 'down',
          ),
        )
        .toBe('down');
      await expect.poll(() => isRunning(server as number), { timeout: 15_000 }).toBe(false);
      expect(await readdir(temporary)).toEqual([]);
    } finally {
      started.child.kill('SIGKILL');
      if (server !== undefined && isRunning(server)) process.kill(server, 'SIGKILL');
    }
  });

  it('takes the config path as its only argument', async () => {
    const result = await run([]);
    expect(result.code).toBe(2);
    expect(result.output).toContain('usage: content-cache <config.yml>');
  });
});

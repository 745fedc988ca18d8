/**
 * The cache with several worker processes (`workers`), run as its program: one upstream download
 * per blob whichever worker its clients reach, one store, expiry and metrics for all workers, and
 * a worker that dies mid-fill replaced without its fill's other clients being cut off. Each case
 * runs with one worker and with several, as the same program.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { get } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@dtr-cache/test-support';
import type { Digest } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StandInOrigin } from './stand-in-origin';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'content-cache.mjs');
const repository = 'alice/app';

interface RunningProgram {
  readonly url: string;
  readonly child: ChildProcess;
  readonly root: string;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the cache program with `workers` and returns once every worker listens. */
async function startProgram(
  origin: StandInOrigin,
  workers: number,
  extra = '',
): Promise<RunningProgram> {
  const root = await mkdtemp(join(tmpdir(), 'cache-workers-'));
  const port = await freePort();
  const config = join(root, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: info }',
      `storage: { delete: { enabled: true }, filesystem: { rootdirectory: ${root}/store } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      'middleware:',
      '  registry:',
      '    - name: downstream',
      '      options:',
      `        upstreams: [${origin.url}]`,
      `        workers: ${workers}`,
      ...extra
        .split('\n')
        .filter(Boolean)
        .map((line) => `        ${line}`),
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [bin, config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while ((output.match(/msg=listening/g) ?? []).length < workers) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the cache did not start with ${workers} workers:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    root,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** GETs `url` on a connection of its own; the body's sha256 and whether it ended complete. */
function pull(
  url: string,
  onFirstBytes?: () => void,
): Promise<{ status: number; sha256: string; complete: boolean; bytes: number }> {
  return new Promise((resolve) => {
    get(url, { agent: false }, (response) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let settled = false;
      const done = (complete: boolean) => {
        if (settled) return;
        settled = true;
        resolve({ status: response.statusCode ?? 0, sha256: hash.digest('hex'), complete, bytes });
      };
      response.on('data', (chunk: Buffer) => {
        if (bytes === 0) onFirstBytes?.();
        hash.update(chunk);
        bytes += chunk.length;
      });
      response.once('end', () => done(response.complete));
      response.once('error', () => done(false));
      response.once('aborted', () => done(false));
    }).once('error', () => resolve({ status: 0, sha256: '', complete: false, bytes: 0 }));
  });
}

/** Lines of the program's log for `digest` with msg="blob request", as their fields. */
function blobRequests(program: RunningProgram, digest: Digest): Array<Record<string, string>> {
  return program
    .output()
    .split('\n')
    .filter((line) => line.includes('msg="blob request"') && line.includes(digest.toString()))
    .map(
      (line) =>
        Object.fromEntries(
          [...line.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1], m[2]]),
        ) as Record<string, string>,
    );
}

let origin: StandInOrigin;
beforeAll(async () => {
  origin = await StandInOrigin.start();
});
afterAll(async () => {
  await origin.close();
});

const blobUrl = async (program: RunningProgram, digest: Digest) =>
  `${program.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`;

for (const workers of [1, 3]) {
  describe(`the cache program with workers: ${workers}`, () => {
    let program: RunningProgram;
    beforeAll(async () => {
      program = await startProgram(origin, workers, 'blobttl: 3s');
    });
    afterAll(async () => {
      await program.stop();
    });

    it('fills 16 simultaneous misses spread over its workers with one upstream GET, all bodies right', async () => {
      const content = randomBytes(8 * 1024 * 1024);
      const digest = origin.add(content, { kind: 'slow', delayMs: 2 });
      const url = await blobUrl(program, digest);
      const pulls = await Promise.all(Array.from({ length: 16 }, () => pull(url)));
      expect(
        pulls.every((result) => result.complete && `sha256:${result.sha256}` === digest.toString()),
      ).toBe(true);
      expect(origin.blobGets(digest)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const lines = blobRequests(program, digest);
      expect(lines).toHaveLength(16);
      expect(lines.filter((line) => line['cache'] === 'miss')).toHaveLength(1);
      if (workers > 1) expect(new Set(lines.map((line) => line['worker'])).size).toBeGreaterThan(1);
      // Once /health says no fill is under way in any worker, the blob is stored: a hit on every
      // worker, still without another upstream GET.
      const fills = async () =>
        ((await (await fetch(`${program.url}/health`)).json()) as { fillsInProgress: number })
          .fillsInProgress;
      for (let tries = 0; tries < 100 && (await fills()) > 0; tries += 1)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const again = await Promise.all(Array.from({ length: 6 }, () => pull(url)));
      expect(again.every((result) => `sha256:${result.sha256}` === digest.toString())).toBe(true);
      expect(origin.blobGets(digest)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(
        blobRequests(program, digest)
          .slice(16)
          .map((line) => line['cache']),
      ).toEqual(Array.from({ length: 6 }, () => 'hit'));
    });

    it('aggregates the metrics of all workers', async () => {
      const content = randomBytes(10_000);
      const digest = origin.add(content);
      const url = await blobUrl(program, digest);
      const count = (text: string) =>
        [
          ...text.matchAll(
            /content_cache_blob_requests_total\{method="GET",result="(\w+)"\} (\d+)/g,
          ),
        ].reduce((sum, match) => sum + Number(match[2]), 0);
      const before = count(await (await fetch(`${program.url}/metrics`)).text());
      for (let index = 0; index < 9; index += 1) await pull(url);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(count(await (await fetch(`${program.url}/metrics`)).text()) - before).toBe(9);
    });

    it('counts each fill under way once in the metrics of all workers, as it is now', async () => {
      const digest = origin.add(randomBytes(8 * 1024 * 1024), { kind: 'slow', delayMs: 10 });
      const url = await blobUrl(program, digest);
      const gauge = async () => {
        const text = await (await fetch(`${program.url}/metrics`)).text();
        return Number(/^content_cache_fills_in_progress (\d+)$/m.exec(text)?.[1]);
      };
      let receiving = 0;
      const clients = 2 * workers;
      const pulls = Array.from({ length: clients }, () => pull(url, () => (receiving += 1)));
      for (let waited = 0; receiving < clients && waited < 10_000; waited += 20)
        await new Promise((resolve) => setTimeout(resolve, 20));
      // Every worker's clients read the one fill; /metrics is answered by any worker.
      for (let index = 0; index < clients; index += 1) expect(await gauge()).toBe(1);
      await Promise.all(pulls);
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (let index = 0; index < clients; index += 1) expect(await gauge()).toBe(0);
    });

    it('expires a blob not pulled for blobttl, whichever worker pulled it', async () => {
      const stale = origin.add(randomBytes(1000));
      const kept = origin.add(randomBytes(1000));
      // Pulled again on every worker: each holds it in its memory tier.
      for (let index = 0; index < 1 + 2 * workers; index += 1)
        await pull(await blobUrl(program, stale));
      await pull(await blobUrl(program, kept));
      const stored = async () =>
        (await readdir(join(program.root, 'store', 'blobs', 'sha256'), { recursive: true })).map(
          (path) => path.split('/').at(-1),
        );
      // (A fill commits just after its body ended: fsync, rename.)
      for (let tries = 0; tries < 50 && !(await stored()).includes(kept.hex); tries += 1)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await stored()).toEqual(expect.arrayContaining([stale.hex, kept.hex]));
      // `kept` is pulled every second (through any worker); `stale` never again.
      for (let second = 0; second < 5; second += 1) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await pull(await blobUrl(program, kept));
      }
      const now = await stored();
      expect(now).not.toContain(stale.hex);
      expect(now).toContain(kept.hex);
      // No worker serves the deleted blob from memory: it is fetched from upstream again, once.
      const before = origin.blobGets(stale);
      for (let index = 0; index < 2 * workers; index += 1)
        await pull(await blobUrl(program, stale));
      expect(origin.blobGets(stale)).toBe(before + 1);
    });
  });
}

describe('a worker that dies in the middle of a fill', () => {
  it('aborts only its own responses; a fill it owned is restarted once for the clients on other workers, nothing half kept, the worker replaced', async () => {
    const program = await startProgram(origin, 2);
    const pidOf = (worker: number) =>
      Number(
        new RegExp(`msg="worker started" worker=${worker} pid=(\\d+)`).exec(program.output())?.[1],
      );
    const ownerOf = (digest: Digest) =>
      Number(
        new RegExp(`msg="fill started" worker=(\\d+) digest=${digest}`).exec(program.output())?.[1],
      );
    const live = new Set([1, 2]);
    let started = 2;
    try {
      // Two rounds: the first kills the fill's owner, the second a worker reading another's fill.
      for (const victimIs of ['owner', 'joiner'] as const) {
        const content = randomBytes(12 * 1024 * 1024);
        const digest = origin.add(content, { kind: 'slow', delayMs: 5 });
        const url = await blobUrl(program, digest);
        let receiving = 0;
        const pulls = Array.from({ length: 8 }, () => pull(url, () => (receiving += 1)));
        // Killed once every client is being sent bytes: the fill is under way on both workers.
        for (let waited = 0; receiving < 8 && waited < 20_000; waited += 20)
          await new Promise((resolve) => setTimeout(resolve, 20));
        const owner = ownerOf(digest);
        expect(live.has(owner), program.output()).toBe(true);
        const victim = victimIs === 'owner' ? owner : [...live].find((worker) => worker !== owner);
        expect(victim).toBeDefined();
        process.kill(pidOf(victim as number), 'SIGKILL');
        live.delete(victim as number);
        const results = await Promise.all(pulls);
        const complete = results.filter((result) => result.complete);
        // Every body that completed is right; the clients of the surviving worker completed.
        expect(complete.every((result) => `sha256:${result.sha256}` === digest.toString())).toBe(
          true,
        );
        expect(complete.length, program.output()).toBeGreaterThan(0);
        expect(complete.length).toBeLessThan(8);
        // One more upstream GET if the owner died (one new fill for all its clients), else none.
        expect(origin.blobGets(digest)).toBe(victimIs === 'owner' ? 2 : 1);
        // The blob was kept: once no fill is under way, a pull is a hit, without another GET.
        const fills = async () =>
          ((await (await fetch(`${program.url}/health`)).json()) as { fillsInProgress: number })
            .fillsInProgress;
        for (let tries = 0; tries < 100 && (await fills()) > 0; tries += 1)
          await new Promise((resolve) => setTimeout(resolve, 20));
        const again = await pull(url);
        expect(`sha256:${again.sha256}`).toBe(digest.toString());
        expect(origin.blobGets(digest)).toBe(victimIs === 'owner' ? 2 : 1);
        expect(program.output()).toContain('msg="worker exited, replacing it"');
        // The next round starts once the replacement listens (the clients reach both workers).
        started += 1;
        live.add(started);
        const listening = () => (program.output().match(/msg=listening/g) ?? []).length;
        const deadline = Date.now() + 15_000;
        while (listening() < started && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(listening()).toBe(started);
      }
      // Nothing half kept: every stored blob matches its name, no temp file is left.
      const blobs = join(program.root, 'store', 'blobs', 'sha256');
      for (const path of await readdir(blobs, { recursive: true })) {
        const name = path.split('/').at(-1) as string;
        if (name.length !== 64) continue;
        const bytes = await readFile(join(blobs, path));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(name);
      }
      const temps = await readdir(join(program.root, 'store', 'tmp')).catch(() => []);
      expect(temps).toEqual([]);
    } finally {
      await program.stop();
    }
  });
});

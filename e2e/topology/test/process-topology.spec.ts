import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Endpoints {
  dtr: { url: string };
  caches: Record<string, { url: string; log: string }>;
  users: Record<'admin' | 'demo', { username: string; password: string }>;
  clientCertDir: string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

describe('npm start: the process topology (DTR, region-us, san-francisco → los-angeles)', () => {
  let data: string;
  let topology: ChildProcess;
  let output = '';
  let endpoints: Endpoints;
  let ca: Buffer[];

  const call = (
    url: string,
    options: { method?: string; auth?: string; body?: Buffer; type?: string } = {},
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method: options.method ?? 'GET',
          ca,
          headers: {
            ...(options.auth ? { Authorization: options.auth } : {}),
            ...(options.type ? { 'Content-Type': options.type } : {}),
          },
        },
        (incoming) => {
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
        },
      );
      outgoing.on('error', reject);
      outgoing.end(options.body);
    });

  const basic = (user: { username: string; password: string }) =>
    `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;

  /** Cache lines of a cache's log for `digest` (hit, miss, …). */
  const cacheResults = async (cache: string, digest: string) =>
    (await readFile(endpoints.caches[cache]?.log as string, 'utf8'))
      .split('\n')
      .filter((line) => line.includes('msg="blob request"') && line.includes(digest))
      .map((line) => /cache=(\S+)/.exec(line)?.[1]);

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'dtr-topology-'));
    topology = spawn(
      process.execPath,
      [join(workspaceRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'tools/topology/start.ts'],
      {
        cwd: workspaceRoot,
        env: { ...process.env, DTR_DATA: data },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    topology.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    topology.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 150_000;
    while (!output.includes('Press Ctrl-C to stop')) {
      if (topology.exitCode !== null || Date.now() > deadline)
        throw new Error(`the topology did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    endpoints = JSON.parse(await readFile(join(data, 'endpoints.json'), 'utf8')) as Endpoints;
    ca = await Promise.all(
      ['dtr', 'san-francisco', 'los-angeles'].map((name) =>
        readFile(join(endpoints.clientCertDir, `${name}-ca.crt`)),
      ),
    );
  });

  afterAll(async () => {
    if (topology && topology.exitCode === null) {
      const exited = new Promise((resolve) => topology.once('exit', resolve));
      topology.kill('SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (topology.exitCode === null) topology.kill('SIGKILL');
    }
    if (data) await rm(data, { recursive: true, force: true });
  });

  it('prints the endpoints and registers the three caches with their health checked', async () => {
    expect(output).toContain(endpoints.dtr.url);
    expect(output).toContain(`demo / ${endpoints.users.demo.password}`);
    const listed = await call(`${endpoints.dtr.url}/api/v0/content_caches`, {
      auth: basic(endpoints.users.admin),
    });
    const caches = (
      JSON.parse(listed.body.toString()) as { contentCaches: Array<{ name: string; host: string }> }
    ).contentCaches;
    expect(caches.map((cache) => cache.name).sort()).toEqual([
      'los-angeles',
      'region-us',
      'san-francisco',
    ]);
    const settings = await call(`${endpoints.dtr.url}/api/v0/accounts/demo/settings`, {
      auth: basic(endpoints.users.demo),
    });
    expect(JSON.parse(settings.body.toString())).toEqual({ contentCache: 'los-angeles' });
  });

  it("serves the demo user's blobs from los-angeles, filled through san-francisco, then from los-angeles alone", async () => {
    const content = randomBytes(2_000_000);
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const demo = basic(endpoints.users.demo);
    const pushed = await call(`${endpoints.dtr.url}/v2/demo/app/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      auth: demo,
      body: content,
      type: 'application/octet-stream',
    });
    expect(pushed.status).toBe(201);

    for (let pull = 0; pull < 2; pull += 1) {
      const redirect = await call(`${endpoints.dtr.url}/v2/demo/app/blobs/${digest}`, {
        auth: demo,
      });
      expect(redirect.status).toBe(307);
      const location = redirect.headers['location'] as string;
      expect(
        location.startsWith(
          `${endpoints.caches['los-angeles']?.url}/v2/demo/app/blobs/${digest}?grant=`,
        ),
      ).toBe(true);
      const blob = await call(location);
      expect(blob.status).toBe(200);
      expect(blob.body.equals(content)).toBe(true);
    }
    // The access log line is written when a response closes.
    await expect.poll(() => cacheResults('los-angeles', digest)).toEqual(['miss', 'hit']);
    expect(await cacheResults('san-francisco', digest)).toEqual(['miss']);
    expect(await cacheResults('region-us', digest)).toEqual([]);
  });

  it('refuses a blob request to a cache without a grant from DTR', async () => {
    for (const cache of ['los-angeles', 'san-francisco']) {
      const url = endpoints.caches[cache]?.url as string;
      const forged = await call(`${url}/v2/demo/app/blobs/sha256:${'0'.repeat(64)}?grant=forged`);
      expect(forged.status).toBe(401);
      expect(JSON.parse(forged.body.toString())).toMatchObject({
        errors: [{ code: 'UNAUTHORIZED' }],
      });
    }
  });

  it('stops every process on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) =>
      topology.once('exit', (code) => resolve(code)),
    );
    topology.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const name of ['dtr', 'region-us', 'san-francisco', 'los-angeles']) {
      const log = await readFile(join(data, 'logs', `${name}.log`), 'utf8');
      expect(log, name).toContain('msg=stopped');
    }
  });
});

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, type RunningTopology, startTopology, workspaceRoot } from '@dtr-cache/test-support';

/** Pushes `content` (whose digest is `digest`) to demo/app as the demo user, in one POST. */
async function pushDemoBlob(topology: RunningTopology, content: Buffer, digest: string) {
  const { endpoints, call } = topology;
  const pushed = await call(`${endpoints.dtr.url}/v2/demo/app/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    auth: basic(endpoints.users.demo),
    body: content,
    type: 'application/octet-stream',
  });
  expect(pushed.status).toBe(201);
}

describe('npm start: the process topology (DTR, region-us, san-francisco → los-angeles)', () => {
  let topology: RunningTopology;

  beforeAll(async () => {
    topology = await startTopology('127.0.0.70');
  });

  afterAll(async () => {
    await topology?.dispose();
  });

  it('prints the endpoints and registers the three caches with their health checked', async () => {
    const { endpoints, call } = topology;
    expect(topology.output()).toContain(endpoints.dtr.url);
    expect(topology.output()).toContain(`demo / ${endpoints.users.demo.password}`);
    const listed = await call(`${endpoints.dtr.url}/api/v0/content_caches`, {
      auth: basic(endpoints.users.admin),
    });
    const caches = (
      JSON.parse(listed.body.toString()) as {
        contentCaches: Array<{ name: string; hosts: string[]; networks: string[] }>;
      }
    ).contentCaches;
    expect(caches.map((cache) => cache.name).sort()).toEqual([
      'los-angeles',
      'region-us',
      'san-francisco',
    ]);
    // region-us: a group of two members (the second its own process), serving 127.0.0.0/8.
    expect(caches.find((cache) => cache.name === 'region-us')).toMatchObject({
      hosts: endpoints.caches['region-us']?.members.map((member) => member.url),
      networks: ['127.0.0.0/8'],
    });
    expect(endpoints.caches['region-us']?.members.map((member) => member.name)).toEqual([
      'region-us',
      'region-us-2',
    ]);
    expect(topology.output()).toContain('a group of 2');
    const settings = await call(`${endpoints.dtr.url}/api/v0/accounts/demo/settings`, {
      auth: basic(endpoints.users.demo),
    });
    expect(JSON.parse(settings.body.toString())).toMatchObject({
      contentCache: 'los-angeles',
      contentCacheChoice: 'cache',
    });
  });

  it("serves the demo user's blobs from los-angeles, filled through san-francisco, then from los-angeles alone", async () => {
    const { endpoints, call, cacheResults } = topology;
    const content = randomBytes(2_000_000);
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const demo = basic(endpoints.users.demo);
    await pushDemoBlob(topology, content, digest);

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
      // A body ends once verified; the blob is stored just after (a pull before that would read
      // it as it is written, as a coalesced client). Its fill ends then, in every worker.
      await expect
        .poll(
          async () =>
            (
              JSON.parse(
                (await call(`${endpoints.caches['los-angeles']?.url}/health`)).body.toString(),
              ) as {
                fillsInProgress: number;
              }
            ).fillsInProgress,
        )
        .toBe(0);
    }
    // The access log line is written when a response closes.
    await expect.poll(() => cacheResults('los-angeles', digest)).toEqual(['miss', 'hit']);
    expect(await cacheResults('san-francisco', digest)).toEqual(['miss']);
    expect(await cacheResults('region-us', digest)).toEqual([]);
  });

  it('completes every body when many misses run at once through the chain', async () => {
    // Clients that fall behind a fill read the rest from the stored file after it is published.
    const { endpoints, call } = topology;
    const demo = basic(endpoints.users.demo);
    const failures: string[] = [];
    for (let round = 0; round < 4; round += 1) {
      const blobs = [];
      for (let index = 0; index < 5; index += 1) {
        const content = randomBytes(500_000 + Math.floor(Math.random() * 3_000_000));
        const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
        const pushed = await call(
          `${endpoints.dtr.url}/v2/demo/app/blobs/uploads/?digest=${digest}`,
          { method: 'POST', auth: demo, body: content, type: 'application/octet-stream' },
        );
        expect(pushed.status).toBe(201);
        blobs.push({ content, digest });
      }
      await Promise.all(
        blobs.flatMap(({ content, digest }) =>
          [0, 1, 2].map(async (client) => {
            const redirect = await call(`${endpoints.dtr.url}/v2/demo/app/blobs/${digest}`, {
              auth: demo,
            });
            const blob = await call(redirect.headers['location'] as string).catch(
              (error: Error) => ({ status: 0, body: Buffer.from(error.message) }),
            );
            if (blob.status !== 200 || !blob.body.equals(content))
              failures.push(`${digest} client ${client}: ${blob.status} ${blob.body.length} bytes`);
          }),
        ),
      );
    }
    expect(failures).toEqual([]);
  });

  it('refuses a blob request to a cache without a grant from DTR', async () => {
    const { endpoints, call } = topology;
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
    expect(await topology.stop()).toBe(0);
    for (const name of ['dtr', 'region-us', 'region-us-2', 'san-francisco', 'los-angeles']) {
      const log = await readFile(join(topology.data, 'logs', `${name}.log`), 'utf8');
      expect(log, name).toContain('msg=stopped');
    }
  });
});

describe('npm start when whatever started it dies', () => {
  it('stops every server once its parent process is gone', async () => {
    // A shell starts the topology and is then killed outright (no signal reaches start.ts).
    const data = await mkdtemp(join(tmpdir(), 'dtr-orphan-'));
    const shell = spawn(
      'sh',
      [
        '-c',
        `"${process.execPath}" --import tsx tools/topology/start.ts > "${data}/start.log" 2>&1 & wait`,
      ],
      {
        cwd: workspaceRoot,
        env: {
          ...process.env,
          DTR_DATA: data,
          DTR_HOST: '127.0.0.90',
        },
        stdio: 'ignore',
      },
    );
    const servers = () =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.includes(data) && /dtr-api\.mjs|content-cache\.mjs/.test(line));
    try {
      await expect
        .poll(
          async () =>
            (await readFile(join(data, 'start.log'), 'utf8').catch(() => '')).includes(
              'Press Ctrl-C',
            ),
          { timeout: 150_000, interval: 500 },
        )
        .toBe(true);
      // One server per configuration file (a cache may run several worker processes).
      expect(new Set(servers().map((line) => line.trim().split(' ').at(-1)))).toHaveProperty(
        'size',
        5,
      );
      shell.kill('SIGKILL');
      await expect.poll(servers, { timeout: 30_000, interval: 500 }).toEqual([]);
      expect(await readFile(join(data, 'start.log'), 'utf8')).toContain(
        'the parent process is gone',
      );
    } finally {
      shell.kill('SIGKILL');
      for (const line of servers()) process.stderr.write(`left running: ${line}\n`);
      // Whatever is left (only if the check above failed) is stopped here.
      spawnSync('pkill', ['-f', data], { stdio: 'ignore' });
      await rm(data, { recursive: true, force: true });
    }
  }, 200_000);
});

describe('npm start when a server crashes', () => {
  let topology: RunningTopology;
  const config = (server: string) => join(topology.data, 'config', `${server}.yml`);
  /** The processes running `server` (found by its configuration file): pid and parent pid. */
  const processTable = (server: string) =>
    execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(config(server)))
      .map((line) => line.trim().split(/\s+/).slice(0, 2).map(Number) as [number, number]);
  const processesOf = (server: string) => processTable(server).map(([pid]) => pid);
  /** The pids of `server`'s top processes: each one's, not counting a cache's worker processes. */
  const serversOf = (server: string) => {
    const table = processTable(server);
    const pids = new Set(table.map(([pid]) => pid));
    return table.filter(([, parent]) => !pids.has(parent)).map(([pid]) => pid);
  };
  const pidsJson = async () =>
    JSON.parse(await readFile(join(topology.data, 'pids.json'), 'utf8')) as Record<string, number>;
  const restartedPid = (server: string) =>
    Number(new RegExp(`start: ${server} restarted \\(pid (\\d+)\\)`).exec(topology.output())?.[1]);
  const healthy = (url: string) =>
    topology
      .call(`${url}/health`)
      .then((answer) => answer.status)
      .catch(() => 0);

  beforeAll(async () => {
    topology = await startTopology('127.0.0.80');
  });

  afterAll(async () => {
    await topology?.dispose();
  });

  it('restarts a cache and DTR killed with SIGKILL, and pulls through them again', async () => {
    const { endpoints, call, data } = topology;
    const demo = basic(endpoints.users.demo);
    const content = randomBytes(1_000_000);
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    await pushDemoBlob(topology, content, digest);

    const killed: Record<string, number> = {};
    for (const server of ['los-angeles', 'dtr']) {
      const pids = serversOf(server);
      expect(pids, server).toHaveLength(1);
      killed[server] = pids[0] as number;
      process.kill(pids[0] as number, 'SIGKILL');
    }
    for (const server of ['los-angeles', 'dtr']) {
      await expect
        .poll(() => topology.output(), { timeout: 30_000, interval: 100 })
        .toContain(`start: ${server} restarted (pid `);
      expect(topology.output()).toContain(
        `start: ${server} exited (SIGKILL); restarting in 1s (see ${join(data, 'logs', `${server}.log`)})`,
      );
      const pid = restartedPid(server);
      expect(pid).not.toBe(killed[server]);
      // The killed server's own worker processes stop too (their primary is gone).
      await expect.poll(() => serversOf(server), { timeout: 30_000, interval: 200 }).toEqual([pid]);
      expect((await pidsJson())[server]).toBe(pid);
    }
    await expect
      .poll(() => healthy(endpoints.dtr.url), { timeout: 60_000, interval: 250 })
      .toBe(200);
    const losAngeles = endpoints.caches['los-angeles']?.url as string;
    await expect.poll(() => healthy(losAngeles), { timeout: 60_000, interval: 250 }).toBe(200);

    // The blob pushed before DTR was killed, through the restarted los-angeles (a miss there),
    // once DTR's health check has found it back (until then DTR serves the blob itself).
    const redirectOf = () =>
      call(`${endpoints.dtr.url}/v2/demo/app/blobs/${digest}`, { auth: demo, method: 'HEAD' });
    await expect
      .poll(async () => (await redirectOf()).status, { timeout: 30_000, interval: 250 })
      .toBe(307);
    const redirect = await redirectOf();
    const location = redirect.headers['location'] as string;
    expect(location.startsWith(`${losAngeles}/v2/demo/app/blobs/${digest}?grant=`)).toBe(true);
    const blob = await call(location);
    expect(blob.status).toBe(200);
    expect(blob.body.equals(content)).toBe(true);
    await expect.poll(() => topology.cacheResults('los-angeles', digest)).toEqual(['miss']);
    // Each log file goes on: the killed incarnation's lines, then the restarted one's (a cache's
    // in each of its worker processes).
    for (const [server, processes] of [
      ['los-angeles', availableParallelism()],
      ['dtr', 1],
    ] as const) {
      const lines = await topology.logLines(server);
      expect(
        lines.filter((line) => line.includes('msg=listening')),
        server,
      ).toHaveLength(2 * processes);
    }
  });

  it('doubles the delay for a second crash, and Ctrl-C during it stops all without a restart', async () => {
    const [pid] = serversOf('los-angeles');
    process.kill(pid as number, 'SIGKILL');
    await expect
      .poll(() => topology.output(), { timeout: 10_000, interval: 50 })
      .toContain('start: los-angeles exited (SIGKILL); restarting in 2s');
    expect(await topology.stop()).toBe(0);
    expect(topology.output().match(/start: los-angeles restarted/g)).toHaveLength(1);
    expect(topology.output()).toContain('start: stopped');
    for (const server of ['dtr', 'region-us', 'region-us-2', 'san-francisco', 'los-angeles'])
      expect(processesOf(server), server).toEqual([]);
    for (const server of ['dtr', 'region-us', 'region-us-2', 'san-francisco']) {
      const log = await readFile(join(topology.data, 'logs', `${server}.log`), 'utf8');
      expect(log, server).toContain('msg=stopped');
    }
    await expect(readFile(join(topology.data, 'pids.json'))).rejects.toThrow('ENOENT');
  });
});

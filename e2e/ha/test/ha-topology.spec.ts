/**
 * The `start:ha` topology with real clients: PostgreSQL, three DTR replicas behind nginx
 * (round-robin, no stickiness) and the caches. skopeo pushes and pulls through the load balancer
 * and through single replicas; a chunked upload spreads over the replicas; a replica is killed
 * (SIGKILL) under 50 pulls and 10 pushes; PostgreSQL restarts under traffic.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Digest } from '@dtr-cache/registry-protocol';
import {
  basic,
  type OciImage,
  type PostgresServer,
  type RunningTopology,
  startPostgres,
  startTopology,
  workspaceRoot,
  writeOciImage,
} from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

let topology: RunningTopology;
let work: string;
let image: OciImage;
let demo: string;
let demoBasic: string;
let registry: string;
/** PostgreSQL once this suite restarted it (it is then this process's child). */
let restartedPostgres: PostgresServer | undefined;

const replicaUrl = (index: number) => topology.endpoints.dtr.replicas?.[index]?.url as string;

/** skopeo with its own retries, as a user runs it. */
const skopeo = (args: string[]) =>
  run('skopeo', ['--insecure-policy', ...args], { timeout: 180_000, cwd: work });

/** The manifest digest skopeo wrote to an OCI layout. */
async function pulledManifest(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  return index.manifests[0]?.digest ?? '';
}

const pushTo = (target: string, reference: string, extra: string[] = []) =>
  skopeo([
    'copy',
    '--retry-times',
    '5',
    '--dest-cert-dir',
    topology.endpoints.clientCertDir,
    '--dest-creds',
    demo,
    ...extra,
    `oci:${join(work, 'image')}:v1`,
    `docker://${target}/${reference}`,
  ]);
const pullFrom = (target: string, reference: string, into: string, extra: string[] = []) =>
  skopeo([
    'copy',
    '--retry-times',
    '5',
    '--src-cert-dir',
    topology.endpoints.clientCertDir,
    '--src-creds',
    demo,
    ...extra,
    `docker://${target}/${reference}`,
    `oci:${join(work, into)}:latest`,
  ]);

beforeAll(async () => {
  await run(
    process.execPath,
    [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'skopeo,nginx'],
    {
      timeout: 300_000,
    },
  );
  work = await mkdtemp(join(tmpdir(), 'dtr-ha-'));
  image = await writeOciImage(join(work, 'image'), 'v1', 3, 50_000);
  topology = await startTopology('127.0.0.80', {}, { ha: true });
  const { username, password } = topology.endpoints.users.demo;
  demo = `${username}:${password}`;
  demoBasic = basic(topology.endpoints.users.demo);
  registry = new URL(topology.endpoints.dtr.url).host;
});

afterAll(async () => {
  await topology?.dispose();
  await restartedPostgres?.stop();
  const postgres = topology?.endpoints.dtr.postgres;
  if (postgres) await rm(join(postgres.dataDirectory, '..'), { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

describe('DTR replicas behind nginx', () => {
  it('takes a push through replica 1 and serves the pull through replica 2, blobs through the chain', async () => {
    const one = new URL(replicaUrl(0)).host;
    const two = new URL(replicaUrl(1)).host;
    await pushTo(one, 'demo/app:v1', ['--dest-tls-verify=false']);
    await pullFrom(two, 'demo/app:v1', 'pulled-two', ['--src-tls-verify=false']);
    expect(await pulledManifest(join(work, 'pulled-two'))).toBe(image.manifestDigest);
    // The demo user pulls blobs through los-angeles (filled through san-francisco).
    const layer = image.layers[0] as string;
    expect(await topology.cacheResults('los-angeles', layer)).toContain('miss');
    await pullFrom(registry, 'demo/app:v1', 'pulled-lb');
    expect(await pulledManifest(join(work, 'pulled-lb'))).toBe(image.manifestDigest);
  });

  it('completes a chunked upload whose requests go to three different replicas', async () => {
    const content = Buffer.alloc(300_000, 7);
    const digest = Digest.of(content);
    const started = await topology.call(`${replicaUrl(0)}/v2/demo/app/blobs/uploads/`, {
      method: 'POST',
      auth: demoBasic,
    });
    expect(started.status).toBe(202);
    let location = String(started.headers['location']);
    for (const [index, chunk] of [
      content.subarray(0, 150_000),
      content.subarray(150_000),
    ].entries()) {
      const patched = await topology.call(`${replicaUrl(index + 1)}${location}`, {
        method: 'PATCH',
        auth: demoBasic,
        type: 'application/octet-stream',
        body: chunk,
      });
      expect(patched.status).toBe(202);
      location = String(patched.headers['location']);
    }
    const separator = location.includes('?') ? '&' : '?';
    const put = await topology.call(`${replicaUrl(0)}${location}${separator}digest=${digest}`, {
      method: 'PUT',
      auth: demoBasic,
    });
    expect(put.status).toBe(201);
    const fetched = await topology.call(
      `${topology.endpoints.dtr.url}/v2/demo/app/blobs/${digest}`,
      { auth: demoBasic },
    );
    // Redirected to the demo user's cache: the blob is there for every replica.
    expect(fetched.status).toBe(307);
  });

  it('loses no client operation when a replica is killed under 50 pulls and 10 pushes (each retries as it does)', async () => {
    const pids = JSON.parse(await readFile(join(topology.data, 'pids.json'), 'utf8')) as Record<
      string,
      number
    >;
    const victim = pids['dtr-2'] as number;
    const pulls = Array.from({ length: 50 }, (_, index) =>
      pullFrom(registry, 'demo/app:v1', `load-pull-${index}`),
    );
    const pushes = Array.from({ length: 10 }, (_, index) => pushTo(registry, `demo/load:${index}`));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    process.kill(victim, 'SIGKILL');
    const results = await Promise.allSettled([...pulls, ...pushes]);
    const failed = results.filter((result) => result.status === 'rejected');
    expect(failed.map((result) => String((result as PromiseRejectedResult).reason))).toEqual([]);
    for (let index = 0; index < 50; index += 1)
      expect(await pulledManifest(join(work, `load-pull-${index}`))).toBe(image.manifestDigest);
    // Nothing half-written: every pushed tag pulls whole.
    for (let index = 0; index < 10; index += 1) {
      await pullFrom(registry, `demo/load:${index}`, `check-${index}`);
      expect(await pulledManifest(join(work, `check-${index}`))).toBe(image.manifestDigest);
    }
    // The killed replica rejoined (restarted by the supervisor, answering again).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const now = JSON.parse(await readFile(join(topology.data, 'pids.json'), 'utf8')) as Record<
        string,
        number
      >;
      const health = await topology.call(`${replicaUrl(1)}/health`).catch(() => undefined);
      if (now['dtr-2'] !== undefined && now['dtr-2'] !== victim && health?.status === 200) break;
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });

  it('answers 503 UNAVAILABLE while PostgreSQL is down and works again once it is back, without restarting DTR', async () => {
    const postgres = topology.endpoints.dtr.postgres;
    if (!postgres) throw new Error('no PostgreSQL in the endpoints');
    const before = JSON.parse(await readFile(join(topology.data, 'pids.json'), 'utf8')) as Record<
      string,
      number
    >;
    const tags = () =>
      topology.call(`${topology.endpoints.dtr.url}/v2/demo/app/tags/list`, { auth: demoBasic });
    expect((await tags()).status).toBe(200);
    // Stop it as an outage would (the postmaster's pid is in its data folder).
    const postmaster = Number(
      (await readFile(join(postgres.dataDirectory, 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    process.kill(postmaster, 'SIGINT');
    const stopDeadline = Date.now() + 30_000;
    while ((await tags()).status !== 503) {
      expect(Date.now()).toBeLessThan(stopDeadline);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const down = await tags();
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body.toString())).toMatchObject({ errors: [{ code: 'UNAVAILABLE' }] });
    expect((await topology.call(`${topology.endpoints.dtr.url}/health`)).status).toBe(503);

    restartedPostgres = await startPostgres({
      host: postgres.host,
      port: postgres.port,
      dataDirectory: postgres.dataDirectory,
      fresh: false,
      durable: true,
    });
    const upDeadline = Date.now() + 30_000;
    while ((await tags()).status !== 200) {
      expect(Date.now()).toBeLessThan(upDeadline);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await pullFrom(registry, 'demo/app:v1', 'after-outage');
    const after = JSON.parse(await readFile(join(topology.data, 'pids.json'), 'utf8')) as Record<
      string,
      number
    >;
    for (const name of ['dtr-1', 'dtr-2', 'dtr-3']) expect(after[name]).toBe(before[name]);
  });
});

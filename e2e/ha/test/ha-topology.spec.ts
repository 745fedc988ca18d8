/**
 * The `start:ha` topology with real clients: PostgreSQL, three DTR replicas behind nginx
 * (round-robin, no stickiness) and the caches. skopeo pushes and pulls through the load balancer
 * and through single replicas, each blob through the chain; a chunked upload spreads over the
 * replicas; a replica is killed (SIGKILL) while it serves 50 pulls, 10 pushes and chunked
 * uploads; PostgreSQL restarts under steady traffic.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Digest, Headers, MediaTypes } from '@dtr-cache/registry-protocol';
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
import {
  finishResumable,
  openChunk,
  type Pusher,
  putManifest,
  sendRange,
  sessionSize,
  startSession,
  uploadBlob,
} from './chunked-upload';
import { headerOf, HttpClient, sleep } from './http-client';
import { logMark, replicaBlobStatuses, requestLinesSince } from './replica-logs';
import { isAllowed, startTraffic, type TrafficKind } from './steady-traffic';
import { pulledManifest, skopeoCopy } from './skopeo-copy';
import { watchTags } from './tag-watch';

const run = promisify(execFile);

let topology: RunningTopology;
let work: string;
let image: OciImage;
let demo: string;
let demoBasic: string;
let registry: string;
let client: HttpClient;
let skopeo: ReturnType<typeof skopeoCopy>;
/** PostgreSQL once this suite restarted it (it is then this process's child). */
let restartedPostgres: PostgresServer | undefined;

const replicaUrl = (index: number) => topology.endpoints.dtr.replicas?.[index]?.url as string;
const loadBalancer = () => topology.endpoints.dtr.url;
const blobsOf = (pushed: OciImage) => [pushed.config, ...pushed.layers];
/** The pid of each server running now (start.ts keeps them in pids.json). */
const readPids = async () =>
  JSON.parse(await readFile(join(topology.data, 'pids.json'), 'utf8')) as Record<string, number>;

const pushTo = (target: string, reference: string, extra: string[] = []) =>
  skopeo.push('image', target, reference, extra);
const pullFrom = (target: string, reference: string, into: string, extra: string[] = []) =>
  skopeo.pull(target, reference, into, extra);

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
  client = new HttpClient(topology.cas);
  skopeo = skopeoCopy({ work, certDir: topology.endpoints.clientCertDir, creds: demo });
});

afterAll(async () => {
  await topology?.dispose();
  await restartedPostgres?.stop();
  const postgres = topology?.endpoints.dtr.postgres;
  if (postgres) await rm(join(postgres.dataDirectory, '..'), { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

describe('DTR replicas behind nginx', () => {
  it('takes a push through replica 1 and serves the pull through replica 2, each blob through the chain once', async () => {
    const one = new URL(replicaUrl(0)).host;
    const two = new URL(replicaUrl(1)).host;
    await pushTo(one, 'demo/app:v1', ['--dest-tls-verify=false']);
    await pullFrom(two, 'demo/app:v1', 'pulled-two', ['--src-tls-verify=false']);
    expect(await pulledManifest(join(work, 'pulled-two'))).toBe(image.manifestDigest);
    // The demo user pulls blobs through los-angeles, filled through san-francisco, which alone
    // gets bytes from DTR (through nginx, from any replica). Access lines are written as
    // responses close.
    for (const digest of blobsOf(image)) {
      await expect.poll(() => topology.cacheResults('los-angeles', digest)).toEqual(['miss']);
      await expect.poll(() => topology.cacheResults('san-francisco', digest)).toEqual(['miss']);
      expect(await topology.cacheResults('region-us', digest), digest).toEqual([]);
      const statuses = await replicaBlobStatuses(topology, 'demo/app', digest);
      expect(statuses.filter((status) => status === 200).length, digest).toBe(1);
      expect(statuses.filter((status) => status === 307).length, digest).toBeGreaterThan(0);
    }
    // A second pull, through the load balancer: every blob a hit at los-angeles.
    await pullFrom(registry, 'demo/app:v1', 'pulled-lb');
    expect(await pulledManifest(join(work, 'pulled-lb'))).toBe(image.manifestDigest);
    for (const digest of blobsOf(image)) {
      await expect
        .poll(() => topology.cacheResults('los-angeles', digest))
        .toEqual(['miss', 'hit']);
      expect(await topology.cacheResults('san-francisco', digest), digest).toEqual(['miss']);
      const statuses = await replicaBlobStatuses(topology, 'demo/app', digest);
      expect(statuses.filter((status) => status === 200).length, digest).toBe(1);
    }
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

  it('loses no client operation when a replica is killed while it serves 50 pulls, 10 pushes and chunked uploads', async () => {
    const victimName = 'dtr-2';
    const victimUrl = replicaUrl(1);
    const victim = (await readPids())[victimName] as number;
    const mark = await logMark(topology, victimName);
    // An image of two larger layers, each pushed in PATCHes of CHUNK by this test as a client.
    const CHUNK = 512 * 1024;
    const big = await writeOciImage(join(work, 'big'), 'v1', 2, 4_000_000);
    const blobFile = (digest: string) =>
      readFile(join(work, 'big', 'blobs', 'sha256', digest.slice(7)));
    const [spanning, cut] = (await Promise.all(big.layers.map(blobFile))) as [Buffer, Buffer];
    const pusher: Pusher = { client, auth: demoBasic, repository: 'demo/big' };

    /** A session started on the victim, the first `end` bytes of `content` written there. */
    const writtenOnVictim = async (content: Buffer, end: number) =>
      sendRange(pusher, victimUrl, await startSession(pusher, victimUrl), content, {
        start: 0,
        end,
        chunkSize: CHUNK,
      });
    // `spanning`: a session the victim starts and writes half of; it goes on after the kill.
    const spanningHalf = 4 * CHUNK;
    const spanningAt = await writtenOnVictim(spanning, spanningHalf);
    // `cut`: two chunks written by the victim, then a PATCH to it still sending when it dies.
    const cutWritten = 2 * CHUNK;
    const cutAt = await writtenOnVictim(cut, cutWritten);
    const inFlightChunk = cut.subarray(cutWritten, cutWritten + CHUNK);
    // Silent until the kill: longer than the wait for it may take.
    const inFlight = openChunk(pusher, victimUrl, cutAt, inFlightChunk, cutWritten, 120_000);
    await inFlight.write(inFlightChunk.subarray(0, CHUNK / 2));

    // The load, through nginx; a watcher checks every tag pushed names blobs that are there.
    let settled = 0;
    const track = (operation: Promise<unknown>) => operation.finally(() => (settled += 1));
    const watch = watchTags(client, loadBalancer(), 'demo/load', demoBasic);
    const operations = [
      ...Array.from({ length: 50 }, (_, index) =>
        track(pullFrom(registry, 'demo/app:v1', `load-pull-${index}`)),
      ),
      ...Array.from({ length: 10 }, (_, index) => track(pushTo(registry, `demo/load:${index}`))),
    ];
    // The kill comes once the victim answered requests of this load (its access lines are
    // written as answers go out), while the load runs and the PATCH above is still sending.
    const loadPaths = ['/v2/demo/app/', '/v2/demo/load/', '/auth/token'];
    await expect
      .poll(() => requestLinesSince(topology, victimName, mark, loadPaths), {
        timeout: 60_000,
        interval: 100,
      })
      .not.toEqual([]);
    const servedBeforeKill = await requestLinesSince(topology, victimName, mark, loadPaths);
    const pendingAtKill = operations.length - settled;
    process.kill(victim, 'SIGKILL');

    // The victim had served the load and died with the PATCH unanswered; neither session shows
    // a byte of a request that was not answered.
    expect(servedBeforeKill.length).toBeGreaterThan(0);
    expect(pendingAtKill).toBeGreaterThan(0);
    await expect(inFlight.answer).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE/);
    expect((await sessionSize(pusher, loadBalancer(), cutAt)).size).toBe(cutWritten);
    expect((await sessionSize(pusher, loadBalancer(), spanningAt)).size).toBe(spanningHalf);
    // The client starts `cut` over (a new session, as docker and skopeo do); `spanning` goes on
    // through nginx where it stands. Then the config and the manifest.
    await Promise.all([
      uploadBlob(pusher, loadBalancer(), cut, CHUNK),
      finishResumable(pusher, loadBalancer(), spanningAt, spanning, CHUNK),
      uploadBlob(pusher, loadBalancer(), await blobFile(big.config), CHUNK),
    ]);
    await putManifest(
      pusher,
      loadBalancer(),
      'v1',
      await blobFile(big.manifestDigest),
      MediaTypes.ociManifest,
    );

    const results = await Promise.allSettled(operations);
    const watched = await watch.stop();
    const failed = results.filter((result) => result.status === 'rejected');
    expect(failed.map((result) => String((result as PromiseRejectedResult).reason))).toEqual([]);
    // Nothing half-written was visible while it ran, nor is now: every tag pulls whole (skopeo
    // checks each blob's digest).
    expect(watched.halfWritten).toEqual([]);
    for (let index = 0; index < 50; index += 1)
      expect(await pulledManifest(join(work, `load-pull-${index}`))).toBe(image.manifestDigest);
    for (let index = 0; index < 10; index += 1) {
      await pullFrom(registry, `demo/load:${index}`, `check-${index}`);
      expect(await pulledManifest(join(work, `check-${index}`))).toBe(image.manifestDigest);
    }
    await pullFrom(registry, 'demo/big:v1', 'big-pulled');
    expect(await pulledManifest(join(work, 'big-pulled'))).toBe(big.manifestDigest);

    // The killed replica rejoined (restarted by the supervisor) and serves the image.
    await expect
      .poll(
        async () => {
          const pid = (await readPids())[victimName];
          const health = await client.send(`${victimUrl}/health`).catch(() => undefined);
          return pid !== undefined && pid !== victim && health?.status === 200;
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe(true);
    const served = await client.send(`${victimUrl}/v2/demo/big/manifests/v1`, {
      headers: { Authorization: demoBasic, [Headers.accept]: MediaTypes.ociManifest },
    });
    expect(served.status).toBe(200);
    expect(headerOf(served, Headers.contentDigest)).toBe(big.manifestDigest);
  });

  it('answers steady traffic with successes or 503 UNAVAILABLE while PostgreSQL is down and recovers without restarting DTR', async () => {
    const postgres = topology.endpoints.dtr.postgres;
    if (!postgres) throw new Error('no PostgreSQL in the endpoints');
    const before = await readPids();
    const kinds: TrafficKind[] = ['manifest', 'blob', 'token', 'push'];
    const traffic = startTraffic(
      {
        client,
        base: loadBalancer(),
        auth: demoBasic,
        pull: { repository: 'demo/app', tag: 'v1', blob: image.layers[0] as string },
        pushTo: 'demo/outage',
      },
      // Three loops of each kind.
      [...kinds, ...kinds, ...kinds],
      { maxOpsPerLoop: 2000, maxMs: 150_000, pauseMs: 50 },
    );
    let downAt = 0;
    let restartAt = 0;
    try {
      const startedAt = Date.now();
      await expect
        .poll(() => traffic.allSucceededSince(startedAt), { timeout: 30_000, interval: 200 })
        .toBe(true);
      // Stop it as an outage would (the postmaster's pid is in its data folder).
      const postmaster = Number(
        (await readFile(join(postgres.dataDirectory, 'postmaster.pid'), 'utf8')).split('\n')[0],
      );
      process.kill(postmaster, 'SIGINT');
      await expect.poll(() => isRunning(postmaster), { timeout: 30_000 }).toBe(false);
      downAt = Date.now();
      // The traffic goes on through the outage.
      await sleep(5000);
      expect((await client.send(`${loadBalancer()}/health`)).status).toBe(503);
      restartAt = Date.now();
      restartedPostgres = await startPostgres({
        host: postgres.host,
        port: postgres.port,
        dataDirectory: postgres.dataDirectory,
        fresh: false,
        durable: true,
      });
      const upAt = Date.now();
      // Every loop succeeds again, DTR untouched.
      await expect
        .poll(() => traffic.allSucceededSince(upAt), { timeout: 60_000, interval: 200 })
        .toBe(true);
    } finally {
      await traffic.stop();
    }
    // Every answer a success or 503 UNAVAILABLE: no 500, no 502, no broken connection.
    expect(traffic.observations.filter((observation) => !isAllowed(observation))).toEqual([]);
    // While it was down, each kind of request was answered 503.
    const unavailable = traffic.observations.filter(
      (observation) =>
        observation.status === 503 &&
        observation.startedAt >= downAt &&
        observation.endedAt <= restartAt,
    );
    expect(new Set(unavailable.map((observation) => observation.kind))).toEqual(new Set(kinds));
    await pullFrom(registry, 'demo/app:v1', 'after-outage');
    expect(await pulledManifest(join(work, 'after-outage'))).toBe(image.manifestDigest);
    const after = await readPids();
    for (const name of ['dtr-1', 'dtr-2', 'dtr-3', 'nginx'])
      expect(after[name], name).toBe(before[name]);
  });
});

/** Whether process `pid` still runs (a process of another user counts). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

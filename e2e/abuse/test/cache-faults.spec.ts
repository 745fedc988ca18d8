/**
 * Faults in the chain los-angeles → san-francisco → DTR, through the process topology: each server
 * killed with SIGKILL in the middle of a fill (and restarted by the launcher), an upstream that
 * stops answering mid-body, origin bytes corrupted or cut short on DTR's disk. Whatever happens, a
 * body that arrives complete has the digest it was asked for, and no cache keeps a blob whose
 * bytes do not match its name.
 */
import { randomBytes } from 'node:crypto';
import { open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  processTree,
  type RunningTopology,
  startTopology,
  type User,
} from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbuseReport } from './abuse-report';
import {
  eventually,
  type Fetched,
  fetchDigest,
  MB,
  misnamedBlobs,
  pidOf,
  type ServerName,
  sleep,
} from './probes';
import { RegistryClient } from './registry-client';

const report = new AbuseReport('chain-faults');
let topology: RunningTopology;
let client: RegistryClient;
let demo: User;
/** Every body that arrived complete with status 200, and whether its digest was right. */
const completeBodies: boolean[] = [];

beforeAll(async () => {
  topology = await startTopology('127.0.1.70');
  client = new RegistryClient(topology);
  demo = topology.endpoints.users.demo;
});
afterAll(async () => {
  report.record({
    attack: 'every fault of this file',
    expected: "every complete body's sha256 equals its digest",
    observed: `${completeBodies.length} complete bodies, ${completeBodies.filter((right) => !right).length} wrong`,
    passed: completeBodies.every((right) => right),
  });
  await report.finish();
  await topology?.dispose();
});

/** Notes a pull's body for the final check; returns a short description. */
function judge(result: Fetched, digest: string): string {
  if (result.status === 200 && result.complete)
    completeBodies.push(`sha256:${result.sha256}` === digest);
  return `${result.status} ${result.complete ? 'complete' : 'cut off'} after ${(result.bytes / MB).toFixed(1)} MiB${result.complete && result.status === 200 ? (`sha256:${result.sha256}` === digest ? ', right' : ', WRONG') : ''}`;
}

/** Blobs stored anywhere in the topology whose bytes do not match their name. */
async function misnamedAnywhere(): Promise<string[]> {
  const roots = [
    join(topology.data, 'los-angeles', 'storage'),
    join(topology.data, 'san-francisco', 'storage'),
    join(topology.data, 'dtr', 'blobs'),
  ];
  return (await Promise.all(roots.map(misnamedBlobs))).flat();
}

/** Where DTR keeps a blob's bytes. */
function dtrBlobPath(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(topology.data, 'dtr', 'blobs', 'blobs', 'sha256', hex.slice(0, 2), hex);
}

/**
 * Pulls through los-angeles (a fresh redirect), for the check after a fault. DTR redirects only to
 * a cache its last health check found healthy: after a restart, that takes up to one interval.
 */
async function pullAgain(repository: string, digest: string): Promise<Fetched> {
  let url: string | undefined;
  await eventually(async () => {
    url = await client.blobUrl(demo, repository, digest);
    return true;
  }, 30_000);
  if (url === undefined) throw new Error(`DTR did not redirect ${repository} to a cache again`);
  return fetchDigest(topology, url);
}

/**
 * After a fault is over, pulls a blob until it arrives right (every attempt is returned for
 * judging). A blob repaired in place on DTR's disk may be served short for up to 30 s (DTR keeps
 * a recently read file open and trusts its size), and a pull that joins a fill failing just then
 * is cut off with it.
 */
async function pullUntilRight(repository: string, digest: string): Promise<Fetched[]> {
  const attempts: Fetched[] = [];
  const deadline = Date.now() + 45_000;
  do {
    const pulled = await pullAgain(repository, digest);
    attempts.push(pulled);
    if (pulled.complete && `sha256:${pulled.sha256}` === digest) break;
    await sleep(2_000);
  } while (Date.now() < deadline);
  return attempts;
}

describe('faults in the chain', () => {
  for (const server of ['dtr', 'san-francisco', 'los-angeles'] as ServerName[]) {
    it(`SIGKILL of ${server} in the middle of a fill, and its restart`, async () => {
      const repository = `demo/kill-${server}`;
      const digest = await client.pushBlob(demo, repository, randomBytes(192 * MB));
      const url = await client.blobUrl(demo, repository, digest);
      const pid = await pidOf(topology, server);
      let killed = false;
      const pulled = await fetchDigest(topology, url, {
        onBytes: (received) => {
          if (!killed && received >= 16 * MB) {
            killed = true;
            process.kill(pid, 'SIGKILL');
          }
        },
      }).catch((error: Error) => ({ failed: error.message }));
      const first = 'failed' in pulled ? `refused: ${pulled.failed}` : judge(pulled, digest);
      const back = await eventually(async () => {
        const now = await pidOf(topology, server);
        const health = await fetchDigest(
          topology,
          `${server === 'dtr' ? client.dtr : topology.endpoints.caches[server]?.url}/health`,
        );
        return now !== pid && health.status === 200;
      }, 90_000);
      const again = await pullAgain(repository, digest);
      const misnamed = await misnamedAnywhere();
      const ok = report.record({
        attack: `SIGKILL of ${server} mid-fill (192 MiB, after 16 MiB)`,
        expected: 'cut off or complete-and-right; restarted; next pull right; nothing half kept',
        observed: `${first}; restarted and healthy: ${back}; next pull ${judge(again, digest)}; misnamed blobs: ${misnamed.length}`,
        passed:
          killed &&
          back &&
          again.status === 200 &&
          `sha256:${again.sha256}` === digest &&
          misnamed.length === 0,
      });
      expect(ok).toBe(true);
    });
  }

  it('an upstream that stops answering mid-body (SIGSTOP of san-francisco)', async () => {
    const digest = await client.pushBlob(demo, 'demo/stall', randomBytes(192 * MB));
    const url = await client.blobUrl(demo, 'demo/stall', digest);
    // The server and its worker processes, all stopped.
    const pids = processTree(await pidOf(topology, 'san-francisco'));
    let stopped = false;
    const started = Date.now();
    const pulled = await fetchDigest(topology, url, {
      onBytes: (received) => {
        if (!stopped && received >= 16 * MB) {
          stopped = true;
          for (const pid of pids) process.kill(pid, 'SIGSTOP');
        }
      },
    });
    const seconds = (Date.now() - started) / 1000;
    for (const pid of pids) process.kill(pid, 'SIGCONT');
    // (A pull that joins a fill the stall is failing just then is cut off too: pull again.)
    const again = (await pullUntilRight('demo/stall', digest)).at(-1) as Fetched;
    const misnamed = await misnamedAnywhere();
    const ok = report.record({
      attack: 'stalled upstream mid-body (SIGSTOP san-francisco)',
      expected: 'the client is cut off after the stall timeout (30 s), not left hanging',
      observed: `${judge(pulled, digest)} after ${seconds.toFixed(0)} s; after SIGCONT: ${judge(again, digest)}; misnamed: ${misnamed.length}`,
      passed:
        stopped &&
        !pulled.complete &&
        seconds < 60 &&
        again.status === 200 &&
        `sha256:${again.sha256}` === digest &&
        misnamed.length === 0,
    });
    expect(ok).toBe(true);
  });

  /**
   * Damages a blob's bytes on DTR's disk, pulls it through the chain, repairs it and pulls again:
   * the client must be cut off (never a complete wrong body), and no cache may keep the bytes.
   */
  async function originFault(
    attack: string,
    repository: string,
    damage: (path: string, content: Buffer) => Promise<void>,
  ) {
    const content = randomBytes(24 * MB);
    const digest = await client.pushBlob(demo, repository, content);
    const path = dtrBlobPath(digest);
    await damage(path, content);
    const pulled = await fetchDigest(topology, await client.blobUrl(demo, repository, digest));
    const cached = [
      ...(await misnamedBlobs(join(topology.data, 'los-angeles', 'storage'))),
      ...(await misnamedBlobs(join(topology.data, 'san-francisco', 'storage'))),
    ];
    await writeFile(path, content);
    const repaired = await pullUntilRight(repository, digest);
    const again = repaired.at(-1) as Fetched;
    return report.record({
      attack,
      expected: 'the client is cut off, never a complete wrong body; no cache keeps it',
      observed: `${judge(pulled, digest)}; kept by a cache: ${cached.length}; after repair: ${repaired.map((attempt) => judge(attempt, digest)).at(-1)} (pull ${repaired.length}; the ones before cut off)`,
      passed:
        !(pulled.complete && pulled.status === 200) &&
        cached.length === 0 &&
        `sha256:${again.sha256}` === digest,
    });
  }

  it("corrupted origin bytes (a byte flipped on DTR's disk)", async () => {
    const ok = await originFault(
      "corrupted origin bytes (flipped on DTR's disk)",
      'demo/corrupt',
      async (path, content) => {
        const file = await open(path, 'r+');
        await file.write(Buffer.from([(content[12 * MB] as number) ^ 0xff]), 0, 1, 12 * MB);
        await file.close();
      },
    );
    expect(ok).toBe(true);
  });

  it("truncated origin bytes (cut short on DTR's disk)", async () => {
    const ok = await originFault(
      "truncated origin bytes (cut short on DTR's disk)",
      'demo/truncated',
      (path) => truncate(path, 10 * MB),
    );
    expect(ok).toBe(true);
  });
});

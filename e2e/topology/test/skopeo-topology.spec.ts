/**
 * skopeo against the process topology: images pushed to DTR and pulled as the demo user, whose
 * cache is los-angeles (filled through san-francisco from DTR); who is refused, and by whom.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  basic,
  type OciImage,
  type RunningTopology,
  startTopology,
  workspaceRoot,
  writeOciImage,
} from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
/** The grant lifetime DTR is started with here, and the caches' clock tolerance. */
const GRANT_LIFETIME_SECONDS = 2;
const CLOCK_TOLERANCE_SECONDS = 30;

async function installSkopeo(): Promise<void> {
  // Installs Debian's skopeo if this machine lacks it (idempotent; needs root and apt).
  await run(process.execPath, [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'skopeo'], {
    timeout: 300_000,
  });
}

/** The manifest digest skopeo wrote to an OCI layout for `tag`. */
async function pulledManifest(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  return index.manifests[0]?.digest ?? '';
}

const blobsOf = (image: OciImage) => [image.config, ...image.layers];

describe('skopeo through DTR and the chain san-francisco → los-angeles', () => {
  let topology: RunningTopology;
  let work: string;
  let image: OciImage;
  let demoCreds: string;
  /** A grant DTR issued at the start, for the expiry test at the end. */
  let earlyGrant: { url: string; issuedAt: number };

  const push = (layout: string, reference: string, creds: string) =>
    topology.push(join(work, layout), reference, creds);
  const pull = (reference: string, creds: string, into: string) =>
    topology.pull(reference, creds, join(work, into));
  /** A 307 from DTR for the demo user: the cache URL with its grant. */
  const redirectFor = async (repository: string, digest: string) => {
    const answer = await topology.call(
      `${topology.endpoints.dtr.url}/v2/${repository}/blobs/${digest}`,
      { auth: basic(topology.endpoints.users.demo) },
    );
    expect(answer.status).toBe(307);
    return answer.headers['location'] as string;
  };
  const createUser = async (name: string, password: string) => {
    const answer = await topology.call(`${topology.endpoints.dtr.url}/api/v0/accounts`, {
      method: 'POST',
      auth: basic(topology.endpoints.users.admin),
      type: 'application/json',
      body: JSON.stringify({ name, type: 'user', password }),
    });
    expect(answer.status, answer.body.toString()).toBe(201);
    return `${name}:${password}`;
  };

  beforeAll(async () => {
    await installSkopeo();
    topology = await startTopology('127.0.0.30', {
      DTR_API_GRANTS_LIFETIME: `${GRANT_LIFETIME_SECONDS}s`,
    });
    work = await mkdtemp(join(tmpdir(), 'dtr-skopeo-'));
    const { demo } = topology.endpoints.users;
    demoCreds = `${demo.username}:${demo.password}`;
    image = await writeOciImage(join(work, 'v1'), 'v1', 3, 400_000);
    await push('v1', 'demo/app:v1', demoCreds);
    earlyGrant = { url: await redirectFor('demo/app', image.config), issuedAt: Date.now() };
  });

  afterAll(async () => {
    await topology?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('pulls every blob through los-angeles, filled once through san-francisco from DTR', async () => {
    await pull('demo/app:v1', demoCreds, 'first');
    expect(await pulledManifest(join(work, 'first'))).toBe(image.manifestDigest);
    for (const digest of blobsOf(image)) {
      // The access lines are written as responses close.
      await expect.poll(() => topology.cacheResults('los-angeles', digest)).toEqual(['miss']);
      expect(await topology.cacheResults('san-francisco', digest), digest).toEqual(['miss']);
      expect(await topology.cacheResults('region-us', digest), digest).toEqual([]);
      // DTR: the client's request (redirected; the early grant's too for the config), then
      // san-francisco's fill, the only one DTR served bytes for.
      const statuses = await topology.dtrBlobStatuses('demo/app', digest);
      expect(
        statuses.filter((status) => status === 200),
        digest,
      ).toHaveLength(1);
      expect(statuses.filter((status) => status === 307).length, digest).toBeGreaterThan(0);
    }
  });

  it('serves a second pull from los-angeles alone: no blob bytes from san-francisco or DTR', async () => {
    await pull('demo/app:v1', demoCreds, 'second');
    expect(await pulledManifest(join(work, 'second'))).toBe(image.manifestDigest);
    for (const digest of blobsOf(image)) {
      await expect
        .poll(() => topology.cacheResults('los-angeles', digest))
        .toEqual(['miss', 'hit']);
      expect(await topology.cacheResults('san-francisco', digest), digest).toEqual(['miss']);
      const statuses = await topology.dtrBlobStatuses('demo/app', digest);
      expect(
        statuses.filter((status) => status === 200),
        digest,
      ).toHaveLength(1);
    }
  });

  it('shows a new image pushed under the same tag on the very next pull (manifests from DTR)', async () => {
    const second = await writeOciImage(join(work, 'v1-new'), 'v1', 2, 300_000);
    await push('v1-new', 'demo/app:v1', demoCreds);
    await pull('demo/app:v1', demoCreds, 'after-retag');
    expect(await pulledManifest(join(work, 'after-retag'))).toBe(second.manifestDigest);
    for (const digest of blobsOf(second))
      await expect.poll(() => topology.cacheResults('los-angeles', digest)).toEqual(['miss']);
  });

  it('refuses a user without access at DTR; the caches see nothing of it', async () => {
    const mallory = await createUser('mallory', 'mallory-password-1');
    const before = await Promise.all(
      ['los-angeles', 'san-francisco'].map((cache) =>
        topology.cacheResults(cache, image.layers[0] as string),
      ),
    );
    await expect(pull('demo/app:v1', mallory, 'mallory')).rejects.toThrow(
      /unauthorized|denied|requested access/i,
    );
    const answer = await topology.call(
      `${topology.endpoints.dtr.url}/v2/demo/app/blobs/${image.layers[0]}`,
      { auth: basic({ username: 'mallory', password: 'mallory-password-1' }) },
    );
    expect([401, 403, 404]).toContain(answer.status);
    expect(answer.headers['location']).toBeUndefined();
    const after = await Promise.all(
      ['los-angeles', 'san-francisco'].map((cache) =>
        topology.cacheResults(cache, image.layers[0] as string),
      ),
    );
    expect(after).toEqual(before);
  });

  it('refuses forged and other-repository grants sent straight to each cache', async () => {
    const digest = image.layers[0] as string;
    const location = new URL(await redirectFor('demo/app', digest));
    const grant = location.searchParams.get('grant') as string;
    for (const cache of ['los-angeles', 'san-francisco']) {
      const url = topology.endpoints.caches[cache]?.url as string;
      const forged = `${grant.slice(0, -4)}${grant.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      for (const attempt of [
        `${url}/v2/demo/app/blobs/${digest}?grant=${forged}`,
        `${url}/v2/demo/other/blobs/${digest}?grant=${grant}`,
        `${url}/v2/demo/app/blobs/${image.layers[1]}?grant=${grant}`,
        `${url}/v2/demo/app/blobs/${digest}`,
      ]) {
        const answer = await topology.call(attempt);
        expect(answer.status, `${cache}: ${attempt}`).toBe(401);
        expect(JSON.parse(answer.body.toString())).toMatchObject({
          errors: [{ code: 'UNAUTHORIZED' }],
        });
      }
      // The genuine grant works at either hop (it is for this repository and digest).
      expect(
        (await topology.call(`${url}/v2/demo/app/blobs/${digest}?grant=${grant}`)).status,
      ).toBe(200);
    }
  });

  it('sends a user without a setting to region-us by network, each blob to one of its two members', async () => {
    const local = await createUser('local', 'local-password-1');
    const tool = await writeOciImage(join(work, 'local-tool'), 'v1', 5);
    await push('local-tool', 'local/tool:v1', local);
    await pull('local/tool:v1', local, 'local');
    expect(await pulledManifest(join(work, 'local'))).toBe(tool.manifestDigest);
    for (const digest of blobsOf(tool)) {
      // Redirected (307), then fetched once by the member filling it (200).
      expect(await topology.dtrBlobStatuses('local/tool', digest), digest).toEqual([307, 200]);
      const servedBy = [];
      for (const member of ['region-us', 'region-us-2'])
        if ((await topology.cacheResults(member, digest)).includes('miss')) servedBy.push(member);
      expect(servedBy, digest).toHaveLength(1);
      for (const cache of ['san-francisco', 'los-angeles'])
        expect(await topology.cacheResults(cache, digest), `${cache} ${digest}`).toEqual([]);
    }
  });

  it('lets a user who chose no cache pull from DTR directly', async () => {
    const nomad = await createUser('nomad', 'nomad-password-1');
    const settings = await topology.call(
      `${topology.endpoints.dtr.url}/api/v0/accounts/nomad/settings`,
      {
        method: 'PATCH',
        auth: `Basic ${Buffer.from(nomad).toString('base64')}`,
        type: 'application/json',
        body: JSON.stringify({ contentCache: '' }),
      },
    );
    expect(settings.status, settings.body.toString()).toBe(200);
    const tool = await writeOciImage(join(work, 'tool'), 'v1', 2);
    await push('tool', 'nomad/tool:v1', nomad);
    await pull('nomad/tool:v1', nomad, 'nomad');
    expect(await pulledManifest(join(work, 'nomad'))).toBe(tool.manifestDigest);
    for (const digest of blobsOf(tool)) {
      expect(await topology.dtrBlobStatuses('nomad/tool', digest), digest).toEqual([200]);
      for (const cache of ['region-us', 'region-us-2', 'san-francisco', 'los-angeles'])
        expect(await topology.cacheResults(cache, digest), `${cache} ${digest}`).toEqual([]);
    }
  });

  it('refuses an expired grant at each cache', async () => {
    const expiresAt =
      earlyGrant.issuedAt + (GRANT_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS + 1) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now())));
    const location = new URL(earlyGrant.url);
    for (const cache of ['los-angeles', 'san-francisco']) {
      const url = `${topology.endpoints.caches[cache]?.url}${location.pathname}${location.search}`;
      const answer = await topology.call(url);
      expect(answer.status, cache).toBe(401);
    }
  }, 60_000);
});

describe('blobttl in the process topology', () => {
  let topology: RunningTopology;
  let work: string;

  beforeAll(async () => {
    await installSkopeo();
    topology = await startTopology('127.0.0.60', { TOPOLOGY_BLOBTTL: '3s' });
    work = await mkdtemp(join(tmpdir(), 'dtr-ttl-'));
  });

  afterAll(async () => {
    await topology?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('deletes blobs not pulled within blobttl from both hops; a later pull still works', async () => {
    const { demo } = topology.endpoints.users;
    const creds = `${demo.username}:${demo.password}`;
    const image = await writeOciImage(join(work, 'image'), 'v1', 2);
    const copy = (into: string) => topology.pull('demo/ttl:v1', creds, join(work, into));
    await topology.push(join(work, 'image'), 'demo/ttl:v1', creds);
    await copy('first');
    const blobs = [image.config, ...image.layers];
    for (const digest of blobs)
      await expect.poll(() => topology.cacheResults('los-angeles', digest)).toEqual(['miss']);

    // Each hop logs the removal of every blob once blobttl passed without a pull.
    const removed = async (cache: string) =>
      (await topology.logLines(cache))
        .filter((line) => line.includes('msg="blob removed"') && line.includes('reason=expired'))
        .map((line) => /digest=(\S+)/.exec(line)?.[1]);
    for (const cache of ['los-angeles', 'san-francisco']) {
      await expect
        .poll(() => removed(cache), { timeout: 20_000, interval: 500 })
        .toEqual(expect.arrayContaining(blobs));
    }

    await copy('second');
    expect(await pulledManifest(join(work, 'second'))).toBe(image.manifestDigest);
    for (const digest of blobs) {
      await expect
        .poll(() => topology.cacheResults('los-angeles', digest))
        .toEqual(['miss', 'miss']);
      expect(await topology.cacheResults('san-francisco', digest)).toEqual(['miss', 'miss']);
    }
  }, 90_000);
});

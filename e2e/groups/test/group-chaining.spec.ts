/**
 * Caches chained into a two-member group (two offices behind one regional group), pulled at the
 * same time with skopeo: with `upstreampolicy: digest` the offices ask the same member for a blob,
 * so the group fetches each blob from DTR once; with `roundrobin` (the documented default) the
 * offices' requests for one blob may reach both members, and each fetches it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type OciImage,
  type RunningFleet,
  startCacheFleet,
  writeOciImage,
} from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pull, pulledManifest, push } from './skopeo';

let fleet: RunningFleet;
let work: string;

const blobsOf = (image: OciImage) => [image.config, ...image.layers];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dtr-chaining-'));
  fleet = await startCacheFleet({
    dtrHost: '127.0.0.160',
    caches: [
      { name: 'regional-digest', members: ['127.0.0.161', '127.0.0.162'], registered: false },
      {
        name: 'office-d1',
        members: ['127.0.0.163'],
        upstream: 'regional-digest',
        upstreamPolicy: 'digest',
      },
      {
        name: 'office-d2',
        members: ['127.0.0.164'],
        upstream: 'regional-digest',
        upstreamPolicy: 'digest',
      },
      { name: 'regional-rr', members: ['127.0.0.165', '127.0.0.166'], registered: false },
      {
        name: 'office-r1',
        members: ['127.0.0.167'],
        upstream: 'regional-rr',
        upstreamPolicy: 'roundrobin',
      },
      {
        name: 'office-r2',
        members: ['127.0.0.168'],
        upstream: 'regional-rr',
        upstreamPolicy: 'roundrobin',
      },
    ],
    users: [
      { name: 'd1', cache: 'office-d1' },
      { name: 'd2', cache: 'office-d2' },
      { name: 'r1', cache: 'office-r1' },
      { name: 'r2', cache: 'office-r2' },
    ],
  });
});

afterAll(async () => {
  await fleet?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Pushes one image (30 blobs) to both users' repositories, pulls it as both at once through their
 * offices, and answers how often DTR served each blob and how many members of `group` hold it.
 */
async function pullThroughOffices(users: [string, string], group: string) {
  const layout = join(work, group);
  const image = await writeOciImage(layout, 'v1', 29, 100_000);
  const creds = (user: string) => `${user}:${fleet.userPassword}`;
  for (const user of users) await push(fleet.registry, layout, `${user}/app:v1`, creds(user));
  await Promise.all(
    users.map((user) =>
      pull(fleet.registry, `${user}/app:v1`, creds(user), join(work, `${group}-${user}`)),
    ),
  );
  for (const user of users)
    expect(await pulledManifest(join(work, `${group}-${user}`))).toBe(image.manifestDigest);
  const blobs = blobsOf(image);
  let gets = 0;
  for (const user of users) gets += (await fleet.originTraffic(`${user}/app`, blobs)).gets;
  const copies = blobs.map((digest) => fleet.holders(group, digest).length);
  return { blobs: blobs.length, gets, copies };
}

describe('a cache chained into a two-member group', () => {
  it('with upstreampolicy digest: the group fetches and stores each of 30 blobs once', async () => {
    const { blobs, gets, copies } = await pullThroughOffices(['d1', 'd2'], 'regional-digest');
    expect(blobs).toBe(30);
    expect(gets).toBe(30);
    expect(copies.every((count) => count === 1)).toBe(true);
  });

  it('with upstreampolicy roundrobin: the group fetches a blob once per member asked (counted)', async () => {
    const { gets, copies } = await pullThroughOffices(['r1', 'r2'], 'regional-rr');
    const stored = copies.reduce((sum, count) => sum + count, 0);
    console.log(
      `roundrobin chaining: ${gets} origin blob GETs and ${stored} stored copies for 30 blobs` +
        ` pulled through two offices into a two-member group (digest: 30 and 30)`,
    );
    expect(copies.every((count) => count >= 1)).toBe(true);
    expect(gets).toBe(stored);
    expect(gets).toBeGreaterThanOrEqual(30);
    expect(gets).toBeLessThanOrEqual(60);
  });
});

/**
 * A cache group of three real members behind DTR, pulled with skopeo: DTR sends each blob to one
 * member (rendezvous hashing of the digest over the healthy members), so each blob is fetched from
 * DTR once and stored on one member's disk; a member stopped mid-pull loses no pull.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  blobRequests,
  type OciImage,
  type RunningFleet,
  startCacheFleet,
  writeOciImage,
} from '@dtr-cache/test-support';
import { rendezvousRank } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pull, pulledManifest, push } from './skopeo';

const MEMBERS = ['127.0.0.151', '127.0.0.152', '127.0.0.153'];
let fleet: RunningFleet;
let work: string;
let creds: string;

const blobsOf = (image: OciImage) => [image.config, ...image.layers];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dtr-groups-'));
  fleet = await startCacheFleet({
    dtrHost: '127.0.0.150',
    caches: [{ name: 'office', members: MEMBERS }],
    users: [{ name: 'builder', cache: 'office' }],
  });
  creds = `builder:${fleet.userPassword}`;
});

afterAll(async () => {
  await fleet?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a cache group of three members', () => {
  it('stores each of 30 blobs pulled by three clients on exactly one member, fetched from DTR once', async () => {
    // A config and 29 layers: 30 blobs.
    const image = await writeOciImage(join(work, 'image'), 'v1', 29, 100_000);
    await push(fleet.registry, join(work, 'image'), 'builder/app:v1', creds);
    await Promise.all(
      [0, 1, 2].map((client) =>
        pull(fleet.registry, 'builder/app:v1', creds, join(work, `pulled-${client}`)),
      ),
    );
    for (const client of [0, 1, 2])
      expect(await pulledManifest(join(work, `pulled-${client}`))).toBe(image.manifestDigest);

    const blobs = blobsOf(image);
    expect(blobs).toHaveLength(30);
    const perMember = MEMBERS.map(() => 0);
    for (const digest of blobs) {
      const holders = fleet.holders('office', digest);
      expect(holders, digest).toHaveLength(1);
      const holder = holders[0] as number;
      perMember[holder] = (perMember[holder] ?? 0) + 1;
    }
    // Every member takes a share (all 30 on one member would have a chance of 3 × 3^-30).
    for (const count of perMember) expect(count).toBeGreaterThan(0);
    expect((await fleet.originTraffic('builder/app', blobs)).gets).toBe(30);
  });

  it('loses no pull when a member is stopped mid-pull (skopeo --retry-times 3)', async () => {
    const image = await writeOciImage(join(work, 'big'), 'v1', 29, 2_000_000);
    await push(fleet.registry, join(work, 'big'), 'builder/big:v1', creds);
    const blobs = new Set(blobsOf(image));
    const pulls = [0, 1, 2].map((client) =>
      pull(fleet.registry, 'builder/big:v1', creds, join(work, `big-${client}`), 3),
    );
    // Stop the first member once it serves this image: it finishes the responses under way and
    // refuses new connections; the clients' next requests for its blobs fail until DTR's next
    // health check moves its share to the others, and skopeo retries them.
    const deadline = Date.now() + 60_000;
    while (
      !(await fleet.memberLog('office', 0)).some((line) =>
        blobRequests([line]).some((request) => blobs.has(request.digest)),
      )
    ) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await fleet.stopMember('office', 0);
    const results = await Promise.allSettled(pulls);
    expect(
      results
        .filter((result) => result.status === 'rejected')
        .map((result) => String((result as PromiseRejectedResult).reason)),
    ).toEqual([]);
    for (const client of [0, 1, 2])
      expect(await pulledManifest(join(work, `big-${client}`))).toBe(image.manifestDigest);
    // Every blob is on some member's disk, and the stopped member's share that it had not served
    // yet went to the next-ranked member.
    const urls = MEMBERS.map((_, index) => fleet.memberUrl('office', index));
    let moved = 0;
    for (const digest of blobs) {
      const holders = fleet.holders('office', digest);
      expect(holders.length, digest).toBeGreaterThan(0);
      const [first, second] = rendezvousRank(digest, urls, (url) => url);
      if (first === urls[0] && !holders.includes(0)) {
        expect(holders, digest).toEqual([urls.indexOf(second as string)]);
        moved += 1;
      }
    }
    // The member was stopped mid-pull: some of its share had not been served yet.
    expect(moved).toBeGreaterThan(0);
  });
});

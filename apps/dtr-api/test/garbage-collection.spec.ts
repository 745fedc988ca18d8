/**
 * Garbage collection of blobs at DTR: what deletes (of tags, manifests, referrers, repositories,
 * blob links) leave unreferenced goes, what a manifest still keeps stays and pulls, a dry run
 * deletes nothing, and pushes during a run lose nothing.
 */
import { Digest, MediaTypes } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectedBlob } from '../src/gc/garbage-collector';
import { type RunningDtr, startDtr } from './dtr-harness';
import {
  type GcFixture,
  gcFixture,
  GRACE_MS,
  imageManifest,
  type Pushed,
  type PushedImage,
  pull,
  pushBlob,
  pushImage,
  putManifest,
  remove,
} from './gc-support';

let dtr: RunningDtr;
let alice: string;
let fixture: GcFixture;

beforeAll(async () => {
  dtr = await startDtr();
  alice = await dtr.createUser('alice');
  fixture = await gcFixture(dtr);
});
afterAll(async () => {
  await fixture?.close();
  await dtr?.close();
});

const sorted = (blobs: readonly Pushed[]) =>
  blobs
    .map(({ digest, size }) => ({ digest, size }))
    .sort((a, b) => a.digest.localeCompare(b.digest));
const allOf = (image: PushedImage) => [image.manifest, image.config, ...image.layers];

describe('after deletes', () => {
  let kept: PushedImage;
  let untagged: PushedImage;
  let fresh: Pushed;
  /** What the deletes leave unreferenced. */
  const garbage: Pushed[] = [];

  beforeAll(async () => {
    // Two images sharing a layer, and a third one sharing it in another repository.
    kept = await pushImage(
      dtr,
      'alice/app',
      'v1',
      { config: 'config 1', layers: ['shared', 'layer 1'] },
      alice,
    );
    const second = await pushImage(
      dtr,
      'alice/app',
      'v2',
      { config: 'config 2', layers: ['shared', 'layer 2'] },
      alice,
    );
    const other = await pushImage(
      dtr,
      'alice/other',
      'v1',
      { config: 'config 3', layers: ['shared', 'layer 3'] },
      alice,
    );
    // Only its tag deleted: the manifest stays (pullable by digest), and so do its blobs.
    untagged = await pushImage(
      dtr,
      'alice/app',
      'v4',
      { config: 'config 4', layers: ['layer 4'] },
      alice,
    );
    await remove(dtr, '/v2/alice/app/manifests/v4', alice);
    // A signature of the first image, deleted.
    const signature = await pushImage(
      dtr,
      'alice/app',
      'digest',
      { config: 'signature config', layers: ['signature'], subject: kept.manifest },
      alice,
    );
    await remove(dtr, `/v2/alice/app/manifests/${signature.manifest.digest}`, alice);
    await remove(dtr, `/v2/alice/app/manifests/${second.manifest.digest}`, alice);
    await remove(dtr, '/api/v0/repositories/alice/other', alice, 204);
    // A blob uploaded but never used, and one unlinked.
    const unused = await pushBlob(dtr, 'alice/app', 'uploaded, never used', alice);
    const unlinked = await pushBlob(dtr, 'alice/app', 'unlinked', alice);
    await remove(dtr, `/v2/alice/app/blobs/${unlinked.digest}`, alice);
    garbage.push(
      second.manifest,
      second.config,
      second.layers[1] as Pushed,
      other.manifest,
      other.config,
      other.layers[1] as Pushed,
      ...allOf(signature),
      unused,
      unlinked,
    );
    await fixture.age();
    // Within the grace period, unused as it is.
    fresh = await pushBlob(dtr, 'alice/app', 'uploaded a moment ago', alice);
  });

  it('a dry run lists exactly the blobs nothing keeps, with their sizes and total, and deletes nothing', async () => {
    const listed: CollectedBlob[] = [];
    const result = await fixture
      .collector()
      .run({ dryRun: true, graceMs: GRACE_MS, onBlob: (blob) => listed.push(blob) });
    if (result.status !== 'done') throw new Error('the run found the lock taken');
    expect(sorted(result.report.removed)).toEqual(sorted(garbage));
    expect(sorted(listed)).toEqual(sorted(garbage));
    expect(result.report.bytes).toBe(garbage.reduce((total, blob) => total + blob.size, 0));
    expect(result.report.kept).toBe(1);
    for (const blob of garbage) expect(await fixture.stored(blob.digest)).toBe(true);
  });

  it('deletes exactly those; shared and referenced blobs stay, and pulls still work', async () => {
    const result = await fixture.collector().run({ dryRun: false, graceMs: GRACE_MS });
    if (result.status !== 'done') throw new Error('the run found the lock taken');
    expect(sorted(result.report.removed)).toEqual(sorted(garbage));
    for (const blob of garbage) expect(await fixture.stored(blob.digest), blob.digest).toBe(false);
    const manifest = await dtr.fetch('/v2/alice/app/manifests/v1', {
      authorization: alice,
      headers: { Accept: MediaTypes.ociManifest },
    });
    expect(manifest.status).toBe(200);
    expect(await manifest.text()).toBe(kept.body);
    for (const [blob, text] of [
      [kept.config, 'config 1'],
      [kept.layers[0], 'shared'],
      [kept.layers[1], 'layer 1'],
      [untagged.layers[0], 'layer 4'],
      [fresh, 'uploaded a moment ago'],
    ] as const)
      expect(await pull(dtr, 'alice/app', (blob as Pushed).digest, alice)).toEqual({
        status: 200,
        text,
      });
    const byDigest = await dtr.fetch(`/v2/alice/app/manifests/${untagged.manifest.digest}`, {
      authorization: alice,
    });
    expect(byDigest.status).toBe(200);
    // A deleted image's blob is not served any more (its link went with it).
    expect((await pull(dtr, 'alice/app', (garbage[2] as Pushed).digest, alice)).status).toBe(404);
    // Nothing is left to collect.
    const again = await fixture.collector().run({ dryRun: false, graceMs: GRACE_MS });
    expect(again.status === 'done' && again.report.removed).toEqual([]);
  });
});

describe('pushes during a run', () => {
  it('keep what they upload, mount, use in a manifest (also one an older release pushed) or commit', async () => {
    const repository = 'alice/busy';
    // What earlier tests left goes first.
    await fixture.age();
    await fixture.collector().run({ dryRun: false, graceMs: GRACE_MS });
    const toMount = await pushBlob(dtr, repository, 'mounted during the run', alice);
    const toUpload = await pushBlob(dtr, repository, 'uploaded again during the run', alice);
    await remove(dtr, `/v2/${repository}/blobs/${toUpload.digest}`, alice);
    const config = await pushBlob(dtr, repository, 'config used during the run', alice);
    const layer = await pushBlob(dtr, repository, 'layer used during the run', alice);
    const older = await pushBlob(dtr, repository, 'used by an older release', alice);
    const committed = await pushBlob(dtr, repository, 'committed, not linked yet', alice);
    await remove(dtr, `/v2/${repository}/blobs/${committed.digest}`, alice);
    const nobody = await pushBlob(dtr, repository, 'wanted by nobody', alice);
    await fixture.age();

    const result = await fixture.collector().run({
      dryRun: false,
      graceMs: GRACE_MS,
      beforeSweep: async () => {
        const mount = await dtr.fetch(
          `/v2/alice/mounted/blobs/uploads/?mount=${toMount.digest}&from=${repository}`,
          { method: 'POST', authorization: alice },
        );
        expect(mount.status).toBe(201);
        await pushBlob(dtr, repository, 'uploaded again during the run', alice);
        await putManifest(dtr, repository, 'during', imageManifest(config, [layer]), alice);
        await insertManifestAsAnOlderRelease(repository, imageManifest(config, [older]));
        const writer = await fixture.blobs.create();
        writer.end(Buffer.from('committed, not linked yet'));
        await writer.commit(Digest.parse(committed.digest));
      },
    });
    if (result.status !== 'done') throw new Error('the run found the lock taken');
    expect(result.report.removed.map((blob) => blob.digest)).toEqual([nobody.digest]);
    for (const blob of [toMount, toUpload, config, layer, older, committed])
      expect(await fixture.stored(blob.digest), blob.digest).toBe(true);
    expect((await pull(dtr, 'alice/mounted', toMount.digest, alice)).status).toBe(200);
    expect((await pull(dtr, repository, toUpload.digest, alice)).status).toBe(200);
    expect((await pull(dtr, repository, layer.digest, alice)).status).toBe(200);
    expect((await pull(dtr, repository, config.digest, alice)).status).toBe(200);
  });
});

/** Stores a manifest as a release before schema 8 did: its bytes and row, no link stamped. */
async function insertManifestAsAnOlderRelease(repository: string, body: string): Promise<void> {
  const digest = Digest.of(body);
  const writer = await fixture.blobs.create();
  writer.end(Buffer.from(body));
  await writer.commit(digest);
  const row = await fixture.opened.database
    .selectFrom('repositories as r')
    .innerJoin('accounts as a', 'a.id', 'r.namespace_id')
    .select('r.id')
    .where('a.name', '=', repository.split('/')[0] as string)
    .where('r.name', '=', repository.split('/')[1] as string)
    .executeTakeFirstOrThrow();
  await fixture.opened.database
    .insertInto('manifests')
    .values({
      repository_id: row.id,
      digest: digest.toString(),
      media_type: MediaTypes.ociManifest,
      size: Buffer.byteLength(body),
      created_at: new Date().toISOString(),
      subject_digest: '',
    })
    .execute();
}

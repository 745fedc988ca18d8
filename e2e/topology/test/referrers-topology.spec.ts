/**
 * An OCI 1.1 artifact through the process topology: the demo user pushes an image and an SBOM
 * whose `subject` is that image, finds the SBOM among the image's referrers at DTR, and pulls its
 * blobs as a client does, each redirected by DTR to los-angeles (filled once through san-francisco
 * from DTR), by hand and with skopeo.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MediaTypes, type OciDescriptor } from '@dtr-cache/registry-protocol';
import { basic, type RunningTopology, startTopology, workspaceRoot } from '@dtr-cache/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPOSITORY = 'demo/sbom';
const SBOM = 'application/vnd.example.sbom.v1+json';

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const descriptorOf = (mediaType: string, bytes: Buffer): OciDescriptor => ({
  mediaType,
  digest: digestOf(bytes),
  size: bytes.length,
});

async function installSkopeo(): Promise<void> {
  // Installs Debian's skopeo if this machine lacks it (idempotent; needs root and apt).
  await run(process.execPath, [join(workspaceRoot, 'tools', 'setup.mjs'), '--apt', 'skopeo'], {
    timeout: 300_000,
  });
}

describe('an OCI artifact (an SBOM of an image) pulled through san-francisco → los-angeles', () => {
  let topology: RunningTopology;
  let work: string;
  let losAngeles: string;
  /** The image's manifest, and the artifact's manifest with its blobs (empty config, 2 layers). */
  let image: { manifest: Buffer; descriptor: OciDescriptor };
  let artifact: { manifest: Buffer; descriptor: OciDescriptor; blobs: Map<string, Buffer> };

  /** A bearer token of the demo user for the repository (as a client gets one). */
  const bearer = async () => {
    const answer = await topology.call(
      `${topology.endpoints.dtr.url}/auth/token?service=dtr&scope=repository:${REPOSITORY}:pull,push`,
      { auth: basic(topology.endpoints.users.demo) },
    );
    expect(answer.status).toBe(200);
    return `Bearer ${(JSON.parse(answer.body.toString()) as { token: string }).token}`;
  };
  const dtr = async (
    path: string,
    options: { method?: string; body?: Buffer; type?: string } = {},
  ) => topology.call(`${topology.endpoints.dtr.url}${path}`, { ...options, auth: await bearer() });
  const pushBlob = async (content: Buffer) => {
    const pushed = await dtr(`/v2/${REPOSITORY}/blobs/uploads/?digest=${digestOf(content)}`, {
      method: 'POST',
      body: content,
      type: 'application/octet-stream',
    });
    expect(pushed.status, pushed.body.toString()).toBe(201);
  };
  const putManifest = async (reference: string, manifest: Buffer) => {
    const answer = await dtr(`/v2/${REPOSITORY}/manifests/${reference}`, {
      method: 'PUT',
      body: manifest,
      type: MediaTypes.ociManifest,
    });
    expect(answer.status, answer.body.toString()).toBe(201);
    return answer;
  };
  const referrers = async (digest: string, query = '') => {
    const answer = await dtr(`/v2/${REPOSITORY}/referrers/${digest}${query}`);
    expect(answer.status, answer.body.toString()).toBe(200);
    expect(answer.headers['content-type']).toContain(MediaTypes.ociIndex);
    const index = JSON.parse(answer.body.toString()) as {
      schemaVersion: number;
      mediaType: string;
      manifests: OciDescriptor[];
    };
    expect(index).toMatchObject({ schemaVersion: 2, mediaType: MediaTypes.ociIndex });
    return { answer, manifests: index.manifests };
  };
  /** Where a cache keeps a blob's bytes. */
  const storedAt = (cache: string, digest: string) => {
    const hex = digest.slice('sha256:'.length);
    return join(topology.data, cache, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
  };
  const fillsInProgress = async () =>
    (
      JSON.parse((await topology.call(`${losAngeles}/health`)).body.toString()) as {
        fillsInProgress: number;
      }
    ).fillsInProgress;

  beforeAll(async () => {
    await installSkopeo();
    topology = await startTopology('127.0.0.100');
    losAngeles = topology.endpoints.caches['los-angeles']?.url as string;
    work = await mkdtemp(join(tmpdir(), 'dtr-referrers-'));

    // The image: a config and one layer, tagged v1.
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { 'test.image': randomBytes(8).toString('hex') } },
        rootfs: { type: 'layers', diff_ids: [] },
      }),
    );
    const layer = randomBytes(300_000);
    for (const blob of [config, layer]) await pushBlob(blob);
    const imageManifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: descriptorOf(MediaTypes.ociConfig, config),
        layers: [descriptorOf(MediaTypes.ociLayerGzip, layer)],
      }),
    );
    await putManifest('v1', imageManifest);
    image = {
      manifest: imageManifest,
      descriptor: descriptorOf(MediaTypes.ociManifest, imageManifest),
    };

    // The artifact: the empty config `{}`, an SBOM document and an attachment of arbitrary bytes,
    // its subject the image; pushed by digest, as artifacts are.
    const empty = Buffer.from('{}');
    const document = Buffer.from(
      JSON.stringify({ spdxVersion: 'SPDX-2.3', name: randomBytes(8).toString('hex') }),
    );
    const attachment = randomBytes(1_500_000);
    for (const blob of [empty, document, attachment]) await pushBlob(blob);
    const artifactManifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        artifactType: SBOM,
        config: descriptorOf(MediaTypes.ociEmpty, empty),
        layers: [
          descriptorOf('application/spdx+json', document),
          descriptorOf('application/vnd.example.sbom.attachment.v1', attachment),
        ],
        subject: image.descriptor,
      }),
    );
    const descriptor = descriptorOf(MediaTypes.ociManifest, artifactManifest);
    const pushed = await putManifest(descriptor.digest, artifactManifest);
    expect(pushed.headers['oci-subject']).toBe(image.descriptor.digest);
    artifact = {
      manifest: artifactManifest,
      descriptor: { ...descriptor, artifactType: SBOM },
      blobs: new Map([empty, document, attachment].map((blob) => [digestOf(blob), blob])),
    };
  });

  afterAll(async () => {
    await topology?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("lists the artifact among the image's referrers at DTR, with its artifactType and by filter", async () => {
    expect(MediaTypes.ociEmpty).toBe('application/vnd.oci.empty.v1+json');
    const all = await referrers(image.descriptor.digest);
    expect(all.manifests).toEqual([artifact.descriptor]);
    expect(all.answer.headers['oci-filters-applied']).toBeUndefined();

    const filtered = await referrers(
      image.descriptor.digest,
      `?artifactType=${encodeURIComponent(SBOM)}`,
    );
    expect(filtered.manifests).toEqual([artifact.descriptor]);
    expect(filtered.answer.headers['oci-filters-applied']).toBe('artifactType');

    const other = await referrers(
      image.descriptor.digest,
      `?artifactType=${encodeURIComponent('application/vnd.example.signature.v1')}`,
    );
    expect(other.manifests).toEqual([]);
    // Nothing refers to the artifact itself.
    expect((await referrers(artifact.descriptor.digest)).manifests).toEqual([]);
  });

  it("pulls the artifact's manifest from DTR and each blob through los-angeles: a miss, then a hit", async () => {
    const manifest = await dtr(`/v2/${REPOSITORY}/manifests/${artifact.descriptor.digest}`);
    expect(manifest.status).toBe(200);
    expect(manifest.body.equals(artifact.manifest)).toBe(true);
    expect(manifest.headers['docker-content-digest']).toBe(artifact.descriptor.digest);
    const layers = (JSON.parse(manifest.body.toString()) as { layers: OciDescriptor[] }).layers;
    expect(layers.map((layer) => layer.digest)).toEqual([...artifact.blobs.keys()].slice(1));

    for (const [digest, content] of artifact.blobs) {
      for (let pull = 0; pull < 2; pull += 1) {
        const redirect = await dtr(`/v2/${REPOSITORY}/blobs/${digest}`);
        expect(redirect.status, digest).toBe(307);
        const location = redirect.headers['location'] as string;
        expect(location.startsWith(`${losAngeles}/v2/${REPOSITORY}/blobs/${digest}?grant=`)).toBe(
          true,
        );
        // The client follows without DTR's token: the grant in the URL is what the cache checks.
        const blob = await topology.call(location);
        expect(blob.status, digest).toBe(200);
        expect(blob.body.equals(content), digest).toBe(true);
        expect(digestOf(blob.body)).toBe(digest);
        await expect.poll(fillsInProgress).toBe(0);
      }
    }
    for (const [digest, content] of artifact.blobs) {
      // The access lines are written as responses close.
      await expect
        .poll(() => topology.cacheResults('los-angeles', digest))
        .toEqual(['miss', 'hit']);
      expect(await topology.cacheResults('san-francisco', digest), digest).toEqual(['miss']);
      expect(await topology.cacheResults('region-us', digest), digest).toEqual([]);
      // DTR: two redirects for the client, and the bytes once, for san-francisco's fill (logged
      // when it ended, between the two).
      expect((await topology.dtrBlobStatuses(REPOSITORY, digest)).sort(), digest).toEqual([
        200, 307, 307,
      ]);
      // Kept on both hops' disks.
      for (const cache of ['los-angeles', 'san-francisco'])
        expect(
          (await readFile(storedAt(cache, digest))).equals(content),
          `${cache} ${digest}`,
        ).toBe(true);
    }
  });

  it('copies the artifact by digest with skopeo through DTR, its blobs from los-angeles', async (context) => {
    const { demo } = topology.endpoints.users;
    const into = join(work, 'sbom');
    try {
      await topology.pull(
        `${REPOSITORY}@${artifact.descriptor.digest}`,
        `${demo.username}:${demo.password}`,
        into,
      );
    } catch (error) {
      const message = String((error as { stderr?: string }).stderr || (error as Error).message);
      // Only skopeo's own refusal of a non-image manifest is a reason to skip.
      if (/artifact|unsupported|non-image|unknown media type/i.test(message)) {
        const { stdout } = await run('skopeo', ['--version']);
        const reason = `${stdout.trim()} cannot copy an OCI artifact: ${message.trim()}`;
        process.stdout.write(`skipping the skopeo copy: ${reason}\n`);
        context.skip(reason);
      }
      throw error;
    }
    const index = JSON.parse(await readFile(join(into, 'index.json'), 'utf8')) as {
      manifests: OciDescriptor[];
    };
    expect(index.manifests.map((entry) => entry.digest)).toEqual([artifact.descriptor.digest]);
    const hex = (digest: string) => digest.slice('sha256:'.length);
    const copied = await readFile(join(into, 'blobs', 'sha256', hex(artifact.descriptor.digest)));
    expect(copied.equals(artifact.manifest)).toBe(true);
    for (const [digest, content] of artifact.blobs) {
      expect((await readFile(join(into, 'blobs', 'sha256', hex(digest)))).equals(content)).toBe(
        true,
      );
      // skopeo followed DTR's redirect: los-angeles served the blob (a hit), nothing new upstream.
      await expect
        .poll(() => topology.cacheResults('los-angeles', digest))
        .toEqual(['miss', 'hit', 'hit']);
      expect(await topology.cacheResults('san-francisco', digest), digest).toEqual(['miss']);
      const statuses = await topology.dtrBlobStatuses(REPOSITORY, digest);
      expect(
        statuses.filter((status) => status === 200),
        digest,
      ).toHaveLength(1);
    }
  });
});

/**
 * Content for the repository pages' tests: images, a two-platform index and a referrer artifact
 * pushed through the registry API, as clients push them.
 */
import { Digest, MediaTypes, type OciDescriptor } from '@dtr-cache/registry-protocol';
import { expect } from 'vitest';
import type { RunningDtr } from './dtr-harness';

/** The artifact type of the signature the fixtures push. */
export const SIGNATURE_TYPE = 'application/vnd.example.signature.v1';

/** A pushed manifest: its descriptor, and its config and layers' bytes. */
export interface Pushed {
  readonly descriptor: OciDescriptor;
  readonly contentBytes: number;
}

/** PUTs a manifest at `reference` (a tag or its digest) and checks it was stored. */
export async function putManifest(
  dtr: RunningDtr,
  repository: string,
  reference: string,
  body: string,
  mediaType: string,
  authorization: string,
): Promise<OciDescriptor> {
  const response = await dtr.fetch(`/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    authorization,
    headers: { 'Content-Type': mediaType },
    body,
  });
  expect(response.status, await response.text()).toBe(201);
  return { mediaType, digest: Digest.of(body).toString(), size: Buffer.byteLength(body) };
}

/**
 * Pushes an OCI image (a config naming `platform`, one layer of `layerBytes` bytes) tagged `tag`,
 * or by digest without one.
 */
export async function pushImage(
  dtr: RunningDtr,
  repository: string,
  authorization: string,
  options: { tag?: string; seed: string; platform?: string; layerBytes?: number },
): Promise<Pushed> {
  const [os = 'linux', architecture = 'amd64', variant] = (options.platform ?? 'linux/amd64').split(
    '/',
  );
  const config = Buffer.from(
    JSON.stringify({
      os,
      architecture,
      variant,
      rootfs: { type: 'layers', diff_ids: [] },
      seed: options.seed,
    }),
  );
  const layer = Buffer.alloc(options.layerBytes ?? 3000, options.seed);
  const configDigest = await dtr.pushBlob(repository, config, authorization);
  const layerDigest = await dtr.pushBlob(repository, layer, authorization);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: {
      mediaType: MediaTypes.ociConfig,
      digest: configDigest.toString(),
      size: config.length,
    },
    layers: [
      { mediaType: MediaTypes.ociLayerGzip, digest: layerDigest.toString(), size: layer.length },
    ],
  });
  const descriptor = await putManifest(
    dtr,
    repository,
    options.tag ?? Digest.of(body).toString(),
    body,
    MediaTypes.ociManifest,
    authorization,
  );
  return { descriptor, contentBytes: config.length + layer.length };
}

/** Pushes a two-platform index (linux/amd64, linux/arm64/v8) tagged `tag`. */
export async function pushIndex(
  dtr: RunningDtr,
  repository: string,
  authorization: string,
  tag: string,
): Promise<Pushed> {
  const amd64 = await pushImage(dtr, repository, authorization, { seed: `${tag}-amd64` });
  const arm64 = await pushImage(dtr, repository, authorization, {
    seed: `${tag}-arm64`,
    platform: 'linux/arm64/v8',
  });
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      { ...amd64.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
      { ...arm64.descriptor, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  });
  const descriptor = await putManifest(
    dtr,
    repository,
    tag,
    body,
    MediaTypes.ociIndex,
    authorization,
  );
  return { descriptor, contentBytes: amd64.contentBytes + arm64.contentBytes };
}

/** Pushes (by digest) a signature artifact whose subject is `subject`. */
export async function pushSignature(
  dtr: RunningDtr,
  repository: string,
  authorization: string,
  subject: OciDescriptor,
): Promise<OciDescriptor> {
  const empty = Buffer.from('{}');
  const emptyDigest = await dtr.pushBlob(repository, empty, authorization);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: SIGNATURE_TYPE,
    config: { mediaType: MediaTypes.ociEmpty, digest: emptyDigest.toString(), size: empty.length },
    layers: [],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  });
  return putManifest(
    dtr,
    repository,
    Digest.of(body).toString(),
    body,
    MediaTypes.ociManifest,
    authorization,
  );
}

/** Tags one manifest `count` times (`t00`, `t01`, …) in a repository. */
export async function tagMany(
  dtr: RunningDtr,
  repository: string,
  authorization: string,
  count: number,
): Promise<void> {
  const image = await pushImage(dtr, repository, authorization, { seed: 'many', tag: 't00' });
  const body = await (
    await dtr.fetch(`/v2/${repository}/manifests/t00`, {
      authorization,
      headers: { Accept: MediaTypes.ociManifest },
    })
  ).text();
  expect(Digest.of(body).toString()).toBe(image.descriptor.digest);
  for (let index = 1; index < count; index += 1)
    await putManifest(
      dtr,
      repository,
      `t${String(index).padStart(2, '0')}`,
      body,
      MediaTypes.ociManifest,
      authorization,
    );
}

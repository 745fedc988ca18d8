import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Digest, MediaTypes } from '@dtr-cache/registry-protocol';

/** What {@link writeOciImage} wrote: the digests a registry client will push and pull. */
export interface OciImage {
  readonly manifestDigest: string;
  readonly config: string;
  readonly layers: readonly string[];
}

/**
 * Writes an OCI image layout (for `skopeo copy oci:<directory>:<tag>`) with a config and
 * `layerCount` gzip layers of random bytes (`layerSize` each, default about 200 kB), so every call
 * makes new digests. Returns the digests of the manifest, config and layers.
 */
export async function writeOciImage(
  directory: string,
  tag: string,
  layerCount: number,
  layerSize = 200_000,
): Promise<OciImage> {
  const blobs = join(directory, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const store = async (content: Buffer) => {
    const digest = Digest.of(content);
    await writeFile(join(blobs, digest.hex), content);
    return { digest: digest.toString(), size: content.length };
  };
  const layers = [];
  for (let index = 0; index < layerCount; index += 1) {
    layers.push({
      mediaType: MediaTypes.ociLayerGzip,
      ...(await store(gzipSync(randomBytes(layerSize + index)))),
    });
  }
  const config = {
    mediaType: MediaTypes.ociConfig,
    ...(await store(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          // A label of its own, so no two images share a config blob.
          config: { Labels: { 'test.image': randomBytes(8).toString('hex') } },
          rootfs: { type: 'layers', diff_ids: [] },
        }),
      ),
    )),
  };
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers }),
  );
  const stored = await store(manifest);
  await writeFile(join(directory, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(directory, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MediaTypes.ociManifest,
          ...stored,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return {
    manifestDigest: stored.digest,
    layers: layers.map((layer) => layer.digest),
    config: config.digest,
  };
}

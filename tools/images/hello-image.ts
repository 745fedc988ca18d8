/**
 * The ready-to-push image of `npm start`: `<data>/images/hello.tar`, a few KB, made here (no
 * registry, no docker). One tar that is both an OCI archive (`oci-layout`, `index.json`: skopeo's
 * `oci-archive:`, `ctr images import`) and a docker archive (`manifest.json`: skopeo's
 * `docker-archive:`, `docker load`, `podman load`), its layer gzip-compressed as registries keep
 * layers, so a push keeps every digest. Deterministic: the same bytes on every start
 * (for one CPU architecture), so its digests can be documented and compared.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ociManifestJson } from './oci-manifest';
import { tarOf, type TarEntry } from './tar';

/** What {@link writeHelloImage} wrote. */
export interface HelloImage {
  /** The archive's path. */
  readonly archive: string;
  /** The tag inside the archive (`oci-archive:<archive>` and `docker-archive:<archive>` find it). */
  readonly tag: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layerDigest: string;
  /** The text of `/hello.txt` in the image. */
  readonly greeting: string;
}

const sha256 = (content: Buffer) => `sha256:${createHash('sha256').update(content).digest('hex')}`;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** The OCI architecture name of this machine's CPU (the image is for it, so clients unpack it). */
export function ociArchitecture(arch: string = process.arch): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };
  return names[arch] ?? arch;
}

/**
 * Writes the image archive to `archive` (folders created): one layer holding
 * `/hello.txt`. Idempotent: the same bytes each time.
 */
export function writeHelloImage(archive: string, tag = 'latest'): HelloImage {
  const greeting = 'Hello from DTR, pulled through a content cache.\n';
  const layerTar = tarOf([{ name: 'hello.txt', content: Buffer.from(greeting) }]);
  // Compressed as a registry stores it, so clients push it as it is (same digests as here).
  const layer = gzipSync(layerTar, { level: 9 });
  const layerDigest = sha256(layer);
  const config = json({
    architecture: ociArchitecture(),
    os: 'linux',
    config: { Labels: { 'org.opencontainers.image.title': 'hello' } },
    rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
  });
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    ociManifestJson({ digest: configDigest, size: config.length }, [
      { digest: layerDigest, size: layer.length },
    ]),
  );
  const manifestDigest = sha256(manifest);
  const blobPath = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`;
  const index = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifestDigest,
        size: manifest.length,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  });
  const dockerManifest = json([
    { Config: blobPath(configDigest), RepoTags: [`hello:${tag}`], Layers: [blobPath(layerDigest)] },
  ]);
  const entries: TarEntry[] = [
    { name: 'blobs/' },
    { name: 'blobs/sha256/' },
    { name: blobPath(configDigest), content: config },
    { name: blobPath(layerDigest), content: layer },
    { name: blobPath(manifestDigest), content: manifest },
    { name: 'index.json', content: index },
    { name: 'manifest.json', content: dockerManifest },
    { name: 'oci-layout', content: json({ imageLayoutVersion: '1.0.0' }) },
  ];
  mkdirSync(dirname(archive), { recursive: true });
  writeFileSync(archive, tarOf(entries));
  return { archive, tag, manifestDigest, configDigest, layerDigest, greeting };
}

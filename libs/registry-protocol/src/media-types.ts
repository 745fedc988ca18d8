/** Media types of manifests, configs and layers. */
export const MediaTypes = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerContainerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  octetStream: 'application/octet-stream',
  json: 'application/json',
} as const;

/** Manifest media types that list image layers (single-platform manifests). */
export const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaTypes.dockerManifest,
  MediaTypes.ociManifest,
];

/** Manifest media types that list other manifests (multi-platform indexes). */
export const INDEX_MEDIA_TYPES: readonly string[] = [
  MediaTypes.dockerManifestList,
  MediaTypes.ociIndex,
];

/** Every manifest media type a registry of this project stores and serves. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  ...IMAGE_MANIFEST_MEDIA_TYPES,
  ...INDEX_MEDIA_TYPES,
];

/** True for a single-platform image manifest type. */
export function isImageManifestMediaType(mediaType: string): boolean {
  return IMAGE_MANIFEST_MEDIA_TYPES.includes(mediaType);
}

/** True for a multi-platform index type. */
export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_MEDIA_TYPES.includes(mediaType);
}

/** True for any manifest type this project serves. */
export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(mediaType);
}

/** An OCI content descriptor as manifests, indexes and referrers answers list it (JSON). */
export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

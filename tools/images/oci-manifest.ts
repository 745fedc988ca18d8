/** A blob a manifest points at: its digest and size. */
export interface ManifestBlob {
  readonly digest: string;
  readonly size: number;
}

/**
 * The JSON of an OCI image manifest (`application/vnd.oci.image.manifest.v1+json`) with `config`
 * and gzip `layers`, in this key order (the same blobs always give the same bytes and digest).
 * Node built-ins only: the topology's scripts run it in the images.
 */
export function ociManifestJson(config: ManifestBlob, layers: readonly ManifestBlob[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: config.digest,
      size: config.size,
    },
    layers: layers.map((layer) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: layer.digest,
      size: layer.size,
    })),
  });
}

import { Digest, MediaTypes } from '@dtr-cache/registry-protocol';
import { describe, expect, it } from 'vitest';
import { manifestReferences, UnreadableManifestError } from './manifest-references';

const digest = (text: string) => Digest.of(text).toString();
const descriptor = (text: string, mediaType: string = MediaTypes.ociLayerGzip) => ({
  mediaType,
  digest: digest(text),
  size: text.length,
});
const references = (document: unknown) =>
  manifestReferences(digest('m'), Buffer.from(JSON.stringify(document)));

describe('what a manifest keeps', () => {
  it("keeps an image manifest's config and layers, also layers given by urls, but not its subject", () => {
    expect(
      references({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: descriptor('config', MediaTypes.ociConfig),
        layers: [descriptor('one'), { ...descriptor('foreign'), urls: ['https://x/y'] }],
        subject: descriptor('the image signed', MediaTypes.ociManifest),
      }),
    ).toEqual([digest('config'), digest('one'), digest('foreign')]);
  });

  it("keeps an index's child manifests and an artifact manifest's blobs", () => {
    expect(
      references({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [descriptor('amd64', MediaTypes.ociManifest), descriptor('arm64')],
      }),
    ).toEqual([digest('amd64'), digest('arm64')]);
    expect(
      references({
        mediaType: 'application/vnd.oci.artifact.manifest.v1+json',
        blobs: [descriptor('b')],
      }),
    ).toEqual([digest('b')]);
  });

  it('skips what is not a descriptor with a valid digest', () => {
    expect(
      references({
        config: { digest: 'sha256:short' },
        layers: [null, 'text', { digest: 7 }, descriptor('kept')],
        manifests: 'not a list',
      }),
    ).toEqual([digest('kept')]);
  });

  it('refuses bytes that are not a JSON object, naming the manifest', () => {
    expect(() => manifestReferences(digest('m'), Buffer.from('{ not json'))).toThrow(
      UnreadableManifestError,
    );
    expect(() => manifestReferences(digest('m'), Buffer.from('[1, 2]'))).toThrow(
      `manifest ${digest('m')} cannot be read (not a JSON object): nothing was deleted`,
    );
  });
});

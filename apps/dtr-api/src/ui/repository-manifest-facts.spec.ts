import { MediaTypes } from '@dtr-cache/registry-protocol';
import { describe, expect, it } from 'vitest';
import { manifestFacts } from './repository-manifest-facts';

const descriptor = (mediaType: string, size: number, digest = `sha256:${'a'.repeat(64)}`) => ({
  mediaType,
  digest,
  size,
});

describe('manifest facts', () => {
  it("sums an image manifest's config and layers", () => {
    const facts = manifestFacts(MediaTypes.ociManifest, {
      config: descriptor(MediaTypes.ociConfig, 100),
      layers: [descriptor(MediaTypes.ociLayerGzip, 1000), descriptor(MediaTypes.ociLayerGzip, 24)],
    });
    expect(facts).toEqual({ kind: 'image', contentBytes: 1124, platforms: [], children: [] });
    expect(
      manifestFacts(MediaTypes.dockerManifest, {
        config: descriptor(MediaTypes.dockerContainerConfig, 7),
        layers: [],
      }).kind,
    ).toBe('image');
  });

  it('calls a manifest with an artifactType or a config of another type an artifact', () => {
    expect(
      manifestFacts(MediaTypes.ociManifest, {
        artifactType: 'application/vnd.example.sbom',
        config: descriptor(MediaTypes.ociEmpty, 2),
        layers: [],
      }),
    ).toMatchObject({ kind: 'artifact', contentBytes: 2 });
    expect(
      manifestFacts(MediaTypes.ociManifest, {
        config: descriptor('application/vnd.cncf.helm.config.v1+json', 5),
        layers: [descriptor('application/tar', 5)],
      }),
    ).toMatchObject({ kind: 'artifact', contentBytes: 10 });
  });

  it("lists an index's platforms and manifests", () => {
    const facts = manifestFacts(MediaTypes.ociIndex, {
      manifests: [
        {
          ...descriptor(MediaTypes.ociManifest, 500, 'sha256:1'),
          platform: { os: 'linux', architecture: 'amd64' },
        },
        {
          ...descriptor(MediaTypes.ociManifest, 501, 'sha256:2'),
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        },
        descriptor(MediaTypes.ociManifest, 502, 'sha256:3'),
      ],
    });
    expect(facts).toEqual({
      kind: 'index',
      contentBytes: undefined,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
      children: [
        { digest: 'sha256:1', size: 500 },
        { digest: 'sha256:2', size: 501 },
        { digest: 'sha256:3', size: 502 },
      ],
    });
  });

  it('never fails on a manifest that is not what its type says', () => {
    for (const document of [undefined, null, 42, 'text', [], { layers: 'no' }, { manifests: {} }]) {
      expect(() => manifestFacts(MediaTypes.ociManifest, document)).not.toThrow();
      expect(() => manifestFacts(MediaTypes.ociIndex, document)).not.toThrow();
    }
    expect(
      manifestFacts(MediaTypes.ociManifest, {
        config: descriptor(MediaTypes.ociConfig, 1),
        layers: [{ size: -5 }],
      }).contentBytes,
    ).toBeUndefined();
    expect(manifestFacts(MediaTypes.ociManifest, { layers: [] }).contentBytes).toBeUndefined();
  });
});

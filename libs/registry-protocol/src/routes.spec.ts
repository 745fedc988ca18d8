import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Digest } from './digest';
import { matchRegistryRoute, registryPaths, resolveRegistryUrl } from './routes';

const digest = Digest.of('layer');

describe('matchRegistryRoute', () => {
  it('matches every route with typed parameters', () => {
    expect(matchRegistryRoute('/v2/')).toEqual({ name: 'base' });
    expect(matchRegistryRoute('/v2')).toEqual({ name: 'base' });
    expect(matchRegistryRoute('/v2/_catalog')).toEqual({ name: 'catalog' });
    expect(matchRegistryRoute('/v2/a/b/tags/list')).toEqual({ name: 'tags', repository: 'a/b' });
    expect(matchRegistryRoute('/v2/a/b/manifests/latest')).toEqual({
      name: 'manifest',
      repository: 'a/b',
      reference: { kind: 'tag', tag: 'latest' },
    });
    expect(matchRegistryRoute(`/v2/a/b/blobs/${digest}`)).toEqual({
      name: 'blob',
      repository: 'a/b',
      digest,
    });
    expect(matchRegistryRoute(`/v2/a/b/referrers/${digest}`)).toEqual({
      name: 'referrers',
      repository: 'a/b',
      digest,
    });
    // A repository may be called `referrers`: its manifests and blobs stay theirs.
    expect(matchRegistryRoute('/v2/a/referrers/manifests/v1')).toMatchObject({
      name: 'manifest',
      repository: 'a/referrers',
    });
    expect(matchRegistryRoute('/v2/a/b/blobs/uploads/')).toEqual({
      name: 'blob-uploads',
      repository: 'a/b',
    });
    expect(matchRegistryRoute('/v2/a/b/blobs/uploads/abc-123_X')).toEqual({
      name: 'blob-upload',
      repository: 'a/b',
      uploadId: 'abc-123_X',
    });
  });

  it('reads names that contain route words', () => {
    expect(matchRegistryRoute(`/v2/blobs/manifests/blobs/${digest}`)).toMatchObject({
      name: 'blob',
      repository: 'blobs/manifests',
    });
    expect(matchRegistryRoute('/v2/uploads/blobs/uploads/')).toMatchObject({
      name: 'blob-uploads',
      repository: 'uploads',
    });
  });

  it('decodes a percent-encoded digest', () => {
    const encoded = `/v2/app/blobs/${digest.toString().replace(':', '%3A')}`;
    expect(matchRegistryRoute(encoded)).toMatchObject({ name: 'blob', digest });
  });

  it.each([
    ['/v2/App/blobs/' + digest, 'NAME_INVALID'],
    ['/v2/a/../b/blobs/' + digest, 'NAME_INVALID'],
    ['/v2/app/blobs/sha256:xyz', 'DIGEST_INVALID'],
    ['/v2/app/blobs/..', 'DIGEST_INVALID'],
    ['/v2/app/referrers/sha256:xyz', 'DIGEST_INVALID'],
    ['/v2/app/manifests/-bad', 'TAG_INVALID'],
    ['/v2/app/blobs/uploads/..%2F..%2Fetc', 'BLOB_UPLOAD_UNKNOWN'],
  ])('rejects %s with %s', (path, code) => {
    expect(() => matchRegistryRoute(path)).toThrow(expect.objectContaining({ code }));
  });

  it('refuses methods a route does not serve', () => {
    expect(() => matchRegistryRoute(`/v2/app/blobs/${digest}`, 'PUT')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED', status: 405 }),
    );
    expect(matchRegistryRoute(`/v2/app/blobs/${digest}`, 'head')).toMatchObject({ name: 'blob' });
  });

  it('returns undefined for paths outside the API', () => {
    expect(matchRegistryRoute('/v1/')).toBeUndefined();
    expect(matchRegistryRoute('/v2/app/unknown/x')).toBeUndefined();
    expect(matchRegistryRoute('/api/v0/repositories')).toBeUndefined();
  });

  it('matches every path the URL builder makes (property)', () => {
    const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)?$/);
    const name = fc
      .array(component, { minLength: 1, maxLength: 4 })
      .map((parts) => parts.join('/'));
    fc.assert(
      fc.property(
        name,
        fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}$/),
        (repository, tag) => {
          expect(matchRegistryRoute(registryPaths.blob(repository, digest))).toEqual({
            name: 'blob',
            repository,
            digest,
          });
          expect(matchRegistryRoute(registryPaths.manifest(repository, tag))).toEqual({
            name: 'manifest',
            repository,
            reference: { kind: 'tag', tag },
          });
          expect(matchRegistryRoute(registryPaths.tags(repository))).toEqual({
            name: 'tags',
            repository,
          });
        },
      ),
    );
  });
});

describe('registryPaths', () => {
  it('builds paths with queries', () => {
    expect(registryPaths.tags('a/b', { n: 10, last: 'v1' })).toBe('/v2/a/b/tags/list?n=10&last=v1');
    expect(registryPaths.referrers('a/b', digest, { artifactType: 'application/x+json' })).toBe(
      `/v2/a/b/referrers/${digest}?artifactType=application%2Fx%2Bjson`,
    );
    expect(registryPaths.catalog()).toBe('/v2/_catalog');
    expect(registryPaths.blobUploads('a', { mount: digest.toString(), from: 'b' })).toBe(
      `/v2/a/blobs/uploads/?mount=${encodeURIComponent(digest.toString())}&from=b`,
    );
  });

  it('resolves against a base URL, keeping its path prefix', () => {
    expect(resolveRegistryUrl('https://dtr.example.com', '/v2/').href).toBe(
      'https://dtr.example.com/v2/',
    );
    expect(resolveRegistryUrl('https://h:5000/prefix/', '/v2/a/tags/list?n=1').href).toBe(
      'https://h:5000/prefix/v2/a/tags/list?n=1',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { Digest } from './digest';
import { matchRegistryRoute } from './routes';
import { grantFromQuery, signedBlobUrl } from './signed-url';

describe('signed blob URLs', () => {
  const digest = Digest.of('x');

  it('puts the grant in the query of the cache blob URL', () => {
    const url = signedBlobUrl('https://cache.example.com:5000', 'team/app', digest, 'a.b.c');
    expect(url.href).toBe(`https://cache.example.com:5000/v2/team/app/blobs/${digest}?grant=a.b.c`);
    expect(matchRegistryRoute(url.pathname)).toMatchObject({
      name: 'blob',
      repository: 'team/app',
      digest,
    });
    expect(grantFromQuery(url.searchParams)).toBe('a.b.c');
  });

  it('keeps a path prefix of the cache host', () => {
    expect(signedBlobUrl('http://h/cache/', 'a', digest, 't').pathname).toBe(
      `/cache/v2/a/blobs/${digest}`,
    );
  });

  it('reads the grant from a parsed query and refuses repeats', () => {
    expect(grantFromQuery({ grant: 't' })).toBe('t');
    expect(grantFromQuery({ grant: ['t', 'u'] })).toBeUndefined();
    expect(grantFromQuery(new URLSearchParams('grant=t&grant=u'))).toBeUndefined();
    expect(grantFromQuery({})).toBeUndefined();
  });
});

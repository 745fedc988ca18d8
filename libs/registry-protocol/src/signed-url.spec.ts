import fc from 'fast-check';
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

  it('reads the grant from a raw or parsed query and refuses repeats', () => {
    expect(grantFromQuery('grant=t')).toBe('t');
    expect(grantFromQuery('x=1&grant=a.b-c_d&y')).toBe('a.b-c_d');
    expect(grantFromQuery('grant=t&grant=u')).toBeUndefined();
    expect(grantFromQuery('grant=t&gr%61nt=u')).toBeUndefined();
    expect(grantFromQuery('grant=a%2Eb+c')).toBe('a.b c');
    expect(grantFromQuery('grant')).toBe('');
    expect(grantFromQuery('')).toBeUndefined();
    expect(grantFromQuery('grants=t&xgrant=t')).toBeUndefined();
    expect(grantFromQuery(new URLSearchParams('grant=t&grant=u'))).toBeUndefined();
    expect(grantFromQuery(new URLSearchParams('grant=t'))).toBe('t');
  });

  it('reads a raw query exactly as URLSearchParams does', () => {
    const part = fc.oneof(
      fc.constantFrom(
        'grant',
        'grant=',
        'grant=a.b.c',
        'x=1',
        '',
        '=',
        'grant==',
        'g',
        '%67rant=z',
      ),
      fc.string({ unit: fc.constantFrom('g', 'r', 'a', 'n', 't', '=', '%', '+', '2', 'B', '.') }),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }), (parts) => {
        const query = parts.join('&');
        const values = new URLSearchParams(query).getAll('grant');
        expect(grantFromQuery(query)).toBe(values.length === 1 ? values[0] : undefined);
      }),
      { numRuns: 2000 },
    );
  });
});

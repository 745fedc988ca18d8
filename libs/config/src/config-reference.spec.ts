import { describe, expect, it } from 'vitest';
import { renderConfigReference, renderDownstreamReference } from './config-reference';
import { describeDownstreamOptions } from './downstream-middleware';

describe('renderConfigReference', () => {
  it('renders one row per key, hiding secrets and escaping table characters', () => {
    const text = renderConfigReference([
      {
        path: 'http.addr',
        env: 'REGISTRY_HTTP_ADDR',
        doc: 'Where to listen | address',
        expected: 'a listen address',
        default: ':5000',
        sensitive: false,
        status: 'honoured',
      },
      {
        path: 'admin.password',
        env: 'DTR_API_ADMIN_PASSWORD',
        doc: 'First password.',
        expected: 'a string',
        default: 'not-shown',
        sensitive: true,
        status: 'honoured',
      },
      {
        path: 'auth.realm',
        env: 'DTR_API_AUTH_REALM',
        doc: 'Realm.',
        expected: 'a URL',
        default: null,
        sensitive: false,
        status: 'honoured',
      },
      {
        path: 'proxy',
        env: 'REGISTRY_PROXY',
        doc: 'not a mirror',
        expected: 'anything',
        default: null,
        sensitive: false,
        status: 'refused',
      },
    ]);
    const rows = text.trim().split('\n');
    expect(rows).toHaveLength(6);
    expect(rows[2]).toBe(
      '| `http.addr` | `REGISTRY_HTTP_ADDR` | honoured | a listen address | `":5000"` | Where to listen \\| address |',
    );
    expect(rows[3]).toContain('(secret)');
    expect(text).not.toContain('not-shown');
    expect(rows[4]).toContain('(unset)');
    expect(rows[5]).toBe(
      '| `proxy` (any value) | `REGISTRY_PROXY` | refused (an error) | — | — | not a mirror |',
    );
  });
});

describe('describeDownstreamOptions', () => {
  it('documents every option the parser reads', () => {
    const options = describeDownstreamOptions().map((option) => option.path.split('.')[0]);
    expect(new Set(options.map((path) => path?.replace('[]', '')))).toEqual(
      new Set([
        'blobttl',
        'upstreams',
        'cas',
        'maxsize',
        'memorysize',
        'sendtimeout',
        'maxclientconnections',
        'workers',
      ]),
    );
    const rows = renderDownstreamReference().trim().split('\n');
    expect(rows).toHaveLength(2 + describeDownstreamOptions().length);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\| `upstreams\[\]\.originhost` \| yes \| an absolute http/),
      ]),
    );
  });
});

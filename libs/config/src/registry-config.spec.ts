import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './config-error';
import { describeConfig } from './config-description';
import { loadRegistryConfig, registryConfigDefinition } from './registry-config';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', 'test', 'fixtures', 'reference');
const sharedReference = join(here, '..', '..', '..', '..', 'shared', 'reference');

/** The placeholders of the reference files, replaced by test values. */
const placeholders: Record<string, string> = {
  '<dtr-url>': 'dtr.example.com',
  '<san-francisco-url>': 'san-francisco.example.com:5000',
  '<Externally-reachable address for the origin registry>': 'https://dtr.example.com',
  '<Externally-reachable address for upstream content cache A>': 'https://cache-a.example.com:5000',
  '<Externally-reachable address for upstream content cache B>': 'https://cache-b.example.com:5000',
  '<Absolute path to upstream content cache A certificate>': '/certs/cache-a-ca.pem',
  '<Absolute path to upstream content cache B certificate>': '/certs/cache-b-ca.pem',
};

function reference(file: string): string {
  let text = readFileSync(join(fixtures, file), 'utf8');
  for (const [placeholder, value] of Object.entries(placeholders))
    text = text.replaceAll(placeholder, value);
  expect(text).not.toMatch(/<[^>]+>/);
  return text;
}

function load(text: string, env: Record<string, string> = {}) {
  return loadRegistryConfig({ text, env });
}

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    load(text, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  throw new Error('expected the configuration to be refused');
}

const url = (text: string) => new URL(text);

/** The OpenSSL names of the registry's default cipher suites, with TLS 1.3's. */
const REGISTRY_DEFAULT_SUITES = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
];

/** `storage` beyond driver and delete permission, when nothing about it is configured. */
const DEFAULT_MAINTENANCE = {
  uploadPurging: {
    enabled: true,
    age: expect.objectContaining({ text: '168h' }),
    interval: expect.objectContaining({ text: '24h' }),
    dryRun: false,
  },
  readOnly: false,
};

describe('the reference configurations', () => {
  it('vendored copies match ../shared/reference', (context) => {
    if (!existsSync(sharedReference)) {
      context.skip(`no ${sharedReference} beside this checkout to compare with`);
      return;
    }
    const files = readdirSync(sharedReference)
      .filter((file) => file.endsWith('.yml'))
      .sort();
    expect(readdirSync(fixtures).sort()).toEqual(files);
    for (const file of files) {
      expect(readFileSync(join(fixtures, file), 'utf8'), file).toBe(
        readFileSync(join(sharedReference, file), 'utf8'),
      );
    }
  });

  it('simple.yml: one cache in front of DTR over HTTP', () => {
    const config = load(reference('simple.yml'));
    expect(config.version).toBe('0.1');
    expect(config.storage).toEqual({
      driver: { kind: 'filesystem', rootDirectory: '/var/lib/registry' },
      deleteEnabled: true,
      ...DEFAULT_MAINTENANCE,
    });
    expect(config.http.listen).toEqual({ kind: 'tcp', host: undefined, port: 5000 });
    expect(config.http.tls).toBeUndefined();
    expect(config.downstream).toEqual({
      blobTtl: { text: '24h', nanoseconds: 86_400_000_000_000n, milliseconds: 86_400_000 },
      upstreams: [
        {
          originHost: url('https://dtr.example.com'),
          upstreamHosts: [],
          upstreamPolicy: 'roundrobin',
        },
      ],
      cas: ['/certs/dtr-ca.pem'],
      maxSize: undefined,
      memorySize: 64 * 2 ** 20,
      sendTimeout: { text: '60s', nanoseconds: 60_000_000_000n, milliseconds: 60_000 },
      maxClientConnections: 256,
    });
    expect(config.middleware.registry).toEqual([
      { name: 'downstream', options: config.downstream },
    ]);
  });

  it('tls.yml: the same cache serving HTTPS', () => {
    const config = load(reference('tls.yml'));
    expect(config.http.tls).toEqual({
      kind: 'files',
      certificate: '/certs/content-cache-ca.pem',
      key: '/certs/content-cache-key.pem',
      clientCas: [],
      clientAuth: 'require-and-verify-client-cert',
      minimumVersion: 'TLSv1.2',
      cipherSuites: REGISTRY_DEFAULT_SUITES,
    });
    expect(config.downstream?.upstreams).toEqual([
      {
        originHost: url('https://dtr.example.com'),
        upstreamHosts: [],
        upstreamPolicy: 'roundrobin',
      },
    ]);
  });

  it('chain-san-francisco.yml: first hop pulls from DTR', () => {
    const config = load(reference('chain-san-francisco.yml'));
    expect(config.http.tls).toMatchObject({
      kind: 'files',
      certificate: '/certs/san-francisco-ca.pem',
      key: '/certs/san-francisco-key.pem',
    });
    expect(config.downstream).toMatchObject({
      upstreams: [
        {
          originHost: url('https://dtr.example.com'),
          upstreamHosts: [],
          upstreamPolicy: 'roundrobin',
        },
      ],
      cas: ['/certs/dtr-ca.pem'],
    });
  });

  it('chain-los-angeles.yml: second hop fills from san-francisco', () => {
    const config = load(reference('chain-los-angeles.yml'));
    expect(config.http.tls).toMatchObject({
      kind: 'files',
      certificate: '/certs/los-angeles-ca.pem',
    });
    expect(config.downstream).toMatchObject({
      blobTtl: { milliseconds: 86_400_000 },
      upstreams: [
        {
          originHost: url('https://dtr.example.com'),
          upstreamHosts: [url('https://san-francisco.example.com:5000')],
        },
      ],
      cas: ['/certs/san-francisco-ca.pem'],
    });
  });

  it('reference-format.yml: a fragment, completed as its first line says, with two upstream caches', () => {
    const base =
      'version: 0.1\nstorage:\n  delete:\n    enabled: true\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n';
    const config = load(base + reference('reference-format.yml'));
    expect(config.downstream).toEqual({
      blobTtl: { text: '24h', nanoseconds: 86_400_000_000_000n, milliseconds: 86_400_000 },
      upstreams: [
        {
          originHost: url('https://dtr.example.com'),
          upstreamHosts: [
            url('https://cache-a.example.com:5000'),
            url('https://cache-b.example.com:5000'),
          ],
          upstreamPolicy: 'roundrobin',
        },
      ],
      cas: ['/certs/cache-a-ca.pem', '/certs/cache-b-ca.pem'],
      maxSize: undefined,
      memorySize: 64 * 2 ** 20,
      sendTimeout: { text: '60s', nanoseconds: 60_000_000_000n, milliseconds: 60_000 },
      maxClientConnections: 256,
    });
  });

  it('reference-format.yml alone: blobttl needs storage.delete.enabled, said clearly', () => {
    expect(issuesOf(reference('reference-format.yml'))).toEqual([
      'middleware.registry[0].options.blobttl: "24h" needs storage.delete.enabled: true (expired blobs are deleted)',
    ]);
  });
});

describe('loadRegistryConfig', () => {
  const simple = reference('simple.yml');

  it('fills every default for an empty file', () => {
    const config = load('');
    expect(config.log).toEqual({
      level: 'info',
      formatter: 'text',
      fields: {},
      accessLogDisabled: false,
    });
    expect(config.storage.driver).toEqual({
      kind: 'filesystem',
      rootDirectory: '/var/lib/registry',
    });
    expect(config.http.drainTimeout.milliseconds).toBe(10_000);
    expect(config.http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff'] });
    expect(config.downstream).toBeUndefined();
  });

  it('reads a file from disk and reports a missing one', () => {
    const directory = mkdtempSync(join(tmpdir(), 'config-'));
    afterAll(() => rmSync(directory, { recursive: true, force: true }));
    const file = join(directory, 'config.yml');
    writeFileSync(file, simple);
    expect(loadRegistryConfig({ file, env: {} }).downstream?.cas).toEqual(['/certs/dtr-ca.pem']);
    expect(() => loadRegistryConfig({ file: join(directory, 'missing.yml'), env: {} })).toThrow(
      /cannot read configuration file .*missing\.yml: ENOENT/,
    );
  });

  it('applies registry-style environment overrides over the file', () => {
    const config = load(simple, {
      REGISTRY_HTTP_ADDR: '127.0.0.2:5001',
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/data/cache',
      REGISTRY_LOG_LEVEL: 'debug',
      REGISTRY_STORAGE_DELETE_ENABLED: 'false',
      REGISTRY_MIDDLEWARE_REGISTRY:
        '[{"name":"downstream","options":{"upstreams":["https://other.example.com"]}}]',
      REGISTRY_HTTP_TLS_CLIENTCAS: '/a.pem,/b.pem',
      REGISTRY_HTTP_TLS_CERTIFICATE: '/c.pem',
      REGISTRY_HTTP_TLS_KEY: '/k.pem',
      REGISTRY_UNRELATED: 'ignored',
    });
    expect(config.http.listen).toEqual({ kind: 'tcp', host: '127.0.0.2', port: 5001 });
    expect(config.storage).toEqual({
      driver: { kind: 'filesystem', rootDirectory: '/data/cache' },
      deleteEnabled: false,
      ...DEFAULT_MAINTENANCE,
    });
    expect(config.log.level).toBe('debug');
    expect(config.downstream?.upstreams).toEqual([
      {
        originHost: url('https://other.example.com'),
        upstreamHosts: [],
        upstreamPolicy: 'roundrobin',
      },
    ]);
    expect(config.http.tls).toMatchObject({ kind: 'files', clientCas: ['/a.pem', '/b.pem'] });
  });

  it('names the environment variable a bad value came from', () => {
    expect(issuesOf(simple, { REGISTRY_HTTP_ADDR: 'nowhere' })).toEqual([
      'http.addr (from REGISTRY_HTTP_ADDR): "nowhere" is not a listen address like ":5000", "127.0.0.1:5000" or "[::1]:5000"',
    ]);
  });

  it('reports a bad blobttl with key path, value and the units', () => {
    expect(issuesOf(simple.replace('blobttl: 24h', 'blobttl: 24x'))).toEqual([
      'middleware.registry[0].options.blobttl: "24x" is not a duration (use ns, us, ms, s, m or h)',
    ]);
  });

  it('reads blobttl without unit as nanoseconds', () => {
    expect(
      load(simple.replace('blobttl: 24h', 'blobttl: 86400000000000')).downstream?.blobTtl
        ?.milliseconds,
    ).toBe(86_400_000);
    expect(
      load(simple.replace('blobttl: 24h', 'blobttl: "5000"')).downstream?.blobTtl?.nanoseconds,
    ).toBe(5000n);
  });

  it('takes memorysize, an extension of the documented format, as a byte size (0: none)', () => {
    expect(
      load(simple.replace('blobttl: 24h', 'blobttl: 24h\n          memorysize: 8MiB')).downstream
        ?.memorySize,
    ).toBe(8 * 2 ** 20);
    expect(
      load(simple.replace('blobttl: 24h', 'blobttl: 24h\n          memorysize: 0')).downstream
        ?.memorySize,
    ).toBe(0);
    expect(
      issuesOf(simple.replace('blobttl: 24h', 'blobttl: 24h\n          memorysize: much'))[0],
    ).toMatch(/^middleware.registry\[0\].options.memorysize: "much" is not a byte size/);
  });

  it('takes maxsize, an extension of the documented format, as a byte size', () => {
    const text = simple.replace('blobttl: 24h', 'blobttl: 24h\n          maxsize: 10GiB');
    expect(load(text).downstream?.maxSize).toBe(10 * 2 ** 30);
    expect(
      issuesOf(simple.replace('blobttl: 24h', 'blobttl: 24h\n          maxsize: lots'))[0],
    ).toMatch(/^middleware.registry\[0\].options.maxsize: "lots" is not a byte size/);
    expect(
      issuesOf(simple.replace('blobttl: 24h', 'blobttl: 24h\n          maxsize: 0'))[0],
    ).toMatch(/must be a positive byte size/);
  });

  it('allows no blobttl (blobs kept until deleted)', () => {
    expect(load(simple.replace('blobttl: 24h', '')).downstream?.blobTtl).toBeUndefined();
  });

  it('reports several problems at once, with suggestions for typos', () => {
    const text = simple
      .replace('rootdirectory:', 'rootdirectry:')
      .replace('addr: :5000', 'addr: :99999')
      .replace('version: 0.1', 'version: 0.1\nlog:\n  level: loud\nhelth: {}');
    expect(issuesOf(text)).toEqual([
      'helth: unknown key (did you mean "health"?)',
      'storage.filesystem.rootdirectry: unknown key (did you mean "rootdirectory"?)',
      'log.level: "loud" is not one of error, warn, info, debug',
      'http.addr: ":99999" is not a listen address like ":5000", "127.0.0.1:5000" or "[::1]:5000" (port must be 0-65535)',
    ]);
  });

  it('accepts both documented upstream shapes', () => {
    const text = simple.replace(
      '- originhost: https://dtr.example.com',
      '- https://plain.example.com\n            - originhost: https://dtr.example.com\n              upstreamhosts: [https://a.example.com, http://b.example.com:5000]',
    );
    expect(load(text).downstream?.upstreams).toEqual([
      {
        originHost: url('https://plain.example.com'),
        upstreamHosts: [],
        upstreamPolicy: 'roundrobin',
      },
      {
        originHost: url('https://dtr.example.com'),
        upstreamHosts: [url('https://a.example.com'), url('http://b.example.com:5000')],
        upstreamPolicy: 'roundrobin',
      },
    ]);
  });

  it('reads upstreampolicy (an extension): digest, and roundrobin when unset', () => {
    const text = simple.replace(
      '- originhost: https://dtr.example.com',
      '- originhost: https://dtr.example.com\n              upstreamhosts: [https://a.example.com, https://b.example.com]\n              upstreampolicy: digest',
    );
    expect(load(text).downstream?.upstreams).toEqual([
      {
        originHost: url('https://dtr.example.com'),
        upstreamHosts: [url('https://a.example.com'), url('https://b.example.com')],
        upstreamPolicy: 'digest',
      },
    ]);
  });

  it('explains every bad downstream option', () => {
    const text = `
storage: { delete: { enabled: true } }
middleware:
  registry:
    - name: downstream
      options:
        blobttl: 0s
        upstream: []
        cas: [relative.pem]
    - name: downstream
      options: { upstreams: [https://x.example.com] }
    - name: redirect
`;
    expect(issuesOf(text)).toEqual([
      'middleware.registry[0].options.upstream: unknown key (did you mean "upstreams"?)',
      'middleware.registry[0].options.blobttl: "0s" must be a positive duration',
      'middleware.registry[0].options.upstreams: is required (at least one upstream with an originhost)',
      'middleware.registry[0].options.cas[0]: "relative.pem" is not an absolute path',
      'middleware.registry[1]: the downstream middleware is configured more than once',
      'middleware.registry[2].name: "redirect" is not a supported registry middleware (supported: downstream)',
    ]);
  });

  it('explains bad upstream entries', () => {
    const text = `
middleware:
  registry:
    - name: downstream
      options:
        upstreams:
          - ftp://dtr.example.com
          - upstreamhosts: [https://a.example.com]
          - originhost: https://user:secret@dtr.example.com
            upstreamhosts: https://a.example.com
          - 42
          - originhost: https://dtr.example.com
            upstreampolicy: random
`;
    expect(issuesOf(text)).toEqual([
      'middleware.registry[0].options.upstreams[0]: "ftp://dtr.example.com" is not an absolute http:// or https:// URL (scheme ftp)',
      'middleware.registry[0].options.upstreams[1].originhost: is required (the externally reachable URL of the origin registry)',
      'middleware.registry[0].options.upstreams[2].originhost: "https://user:secret@dtr.example.com" must not contain credentials',
      'middleware.registry[0].options.upstreams[2].upstreamhosts: "https://a.example.com" is not a list',
      'middleware.registry[0].options.upstreams[3]: 42 is not an upstream (use a URL, or originhost with optional upstreamhosts)',
      'middleware.registry[0].options.upstreams[4].upstreampolicy: "random" is not one of roundrobin, digest',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const [issue] = issuesOf('http:\n  addr: [unclosed\n');
    expect(issue).toMatch(/^: line \d+, column \d+: .*\(not valid YAML\)$/);
    expect(issuesOf('http:\n  addr: :1\n  addr: :2\n')[0]).toMatch(/unique.*not valid YAML/i);
    expect(issuesOf('- a\n- b\n')).toEqual([
      ': the configuration must be a YAML mapping, got ["a","b"]',
    ]);
  });

  it('reports a section given as a scalar', () => {
    expect(issuesOf('http: 5000')).toEqual([
      'http: 5000 is not a section (expected keys: addr, net, prefix, host, secret, relativeurls, draintimeout, debug, http2, h2c, headers, tls)',
    ]);
  });

  it('selects the in-memory driver and refuses two drivers', () => {
    expect(load('storage:\n  inmemory:\n').storage.driver).toEqual({ kind: 'inmemory' });
    expect(load('storage:\n  inmemory: {}\n').storage.driver).toEqual({ kind: 'inmemory' });
    expect(issuesOf('storage:\n  inmemory:\n  filesystem:\n    rootdirectory: /x\n')).toEqual([
      'storage: configure exactly one storage driver: filesystem or inmemory, not both',
    ]);
    expect(issuesOf('storage:\n  inmemory: {size: 1}\n')[0]).toMatch(
      /storage.inmemory: .*takes no parameters/,
    );
  });

  it('checks TLS settings come in complete sets', () => {
    expect(issuesOf('http:\n  tls:\n    certificate: /c.pem\n')).toEqual([
      'http.tls.key: is required: http.tls.certificate and http.tls.key are set together',
    ]);
    expect(issuesOf('http:\n  tls:\n    clientcas: [/ca.pem]\n')).toEqual([
      "http.tls.clientcas: needs TLS: set http.tls.certificate and key (or Let's Encrypt)",
    ]);
    expect(issuesOf('http:\n  tls:\n    letsencrypt:\n      hosts: [cache.example.com]\n')).toEqual(
      ["http.tls.letsencrypt.cachefile: is required to use Let's Encrypt (hosts or email are set)"],
    );
    expect(
      issuesOf('http:\n  tls:\n    letsencrypt:\n      cachefile: /var/lib/le.json\n'),
    ).toEqual([
      "http.tls.letsencrypt.hosts: is required with Let's Encrypt (the host names to obtain certificates for)",
    ]);
    expect(
      issuesOf(
        'http:\n  tls:\n    certificate: /c.pem\n    key: /k.pem\n    letsencrypt:\n      cachefile: /le.json\n      hosts: [a.example.com]\n',
      ),
    ).toEqual(["http.tls.letsencrypt: use either certificate and key or Let's Encrypt, not both"]);
  });

  it("configures Let's Encrypt", () => {
    const config = load(
      'http:\n  tls:\n    minimumtls: tls1.3\n    letsencrypt:\n      cachefile: /var/lib/le.json\n      email: ops@example.com\n      hosts: [Cache.Example.com]\n      directoryurl: https://127.0.0.1:14000/dir\n',
    );
    expect(config.http.tls).toEqual({
      kind: 'letsencrypt',
      cacheFile: '/var/lib/le.json',
      email: 'ops@example.com',
      hosts: ['cache.example.com'],
      directoryUrl: url('https://127.0.0.1:14000/dir'),
      clientCas: [],
      clientAuth: 'require-and-verify-client-cert',
      minimumVersion: 'TLSv1.3',
      cipherSuites: REGISTRY_DEFAULT_SUITES,
    });
  });

  it('listens on a unix socket with http.net: unix', () => {
    expect(load('http:\n  net: unix\n  addr: /run/cache.sock\n').http.listen).toEqual({
      kind: 'unix',
      path: '/run/cache.sock',
    });
    expect(issuesOf('http:\n  net: unix\n  addr: ":5000"\n')[0]).toMatch(
      /^http.addr: .*absolute unix socket path/,
    );
  });

  it('refuses other versions', () => {
    expect(issuesOf('version: 0.2')).toEqual([
      'version: 0.2 is not a supported configuration version (use 0.1)',
    ]);
  });

  it('documents every key with doc, format, default and a registry-style env name', () => {
    const keys = describeConfig(registryConfigDefinition);
    expect(keys.map((key) => key.path)).toContain('middleware.registry');
    for (const key of keys) {
      expect(key.doc, key.path).not.toBe('');
      expect(key.expected, key.path).not.toBe('');
      expect(key, key.path).toHaveProperty('default');
      expect(key.env).toBe(`REGISTRY_${key.path.toUpperCase().replaceAll('.', '_')}`);
    }
    expect(keys.find((key) => key.path === 'storage.filesystem.rootdirectory')?.env).toBe(
      'REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY',
    );
  });
});

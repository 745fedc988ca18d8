import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error';
import { describeConfig } from './config-description';
import { loadRegistryConfig, registryConfigDefinition } from './registry-config';

const fixtures = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'test',
  'fixtures',
  'registry',
);

const DOWNSTREAM = `
middleware:
  registry:
    - name: downstream
      options:
        upstreams:
          - originhost: https://dtr.example.com
`;

function fixture(file: string): string {
  return readFileSync(join(fixtures, file), 'utf8') + DOWNSTREAM;
}

const warningsOf = (text: string, env: Record<string, string> = {}) =>
  loadRegistryConfig({ text, env }).warnings.map(
    (warning) => `${warning.path}: ${warning.message}`,
  );

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    loadRegistryConfig({ text, env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  throw new Error('expected the configuration to be refused');
}

describe("the registry's stock configurations, with the downstream middleware", () => {
  it("Debian's docker-registry config.yml loads, warning once about auth", () => {
    const config = loadRegistryConfig({ text: fixture('debian-docker-registry.yml'), env: {} });
    expect(config.storage.driver).toEqual({
      kind: 'filesystem',
      rootDirectory: '/var/lib/docker-registry',
    });
    expect(config.health.storageDriver).toMatchObject({ enabled: true, threshold: 3 });
    expect(config.health.storageDriver.interval.milliseconds).toBe(10_000);
    expect(config.log.fields).toEqual({ service: 'registry' });
    expect(warningsOf(fixture('debian-docker-registry.yml'))).toEqual([
      "auth: ignored: users authenticate to DTR; a content cache authorizes each blob with DTR's signed grant",
    ]);
  });

  it("the registry project's example config loads, warning about tag and auth", () => {
    expect(warningsOf(fixture('distribution-config-example.yml'))).toEqual([
      'storage.tag: ignored: tags are kept by DTR in its database: there is no tag walk to limit',
      "auth: ignored: users authenticate to DTR; a content cache authorizes each blob with DTR's signed grant",
    ]);
  });

  it("the registry project's development config loads with its debug server", () => {
    const config = loadRegistryConfig({ text: fixture('distribution-config-dev.yml'), env: {} });
    expect(config.http.debug).toEqual({
      listen: { kind: 'tcp', host: undefined, port: 5001 },
      metricsPath: '/metrics',
    });
    expect(config.storage.uploadPurging.enabled).toBe(false);
    expect(config.log.level).toBe('debug');
  });
});

describe('every key of the registry format', () => {
  it('accepts ignored sections with one warning each, whatever they hold', () => {
    const text = `${DOWNSTREAM}
auth:
  token: {realm: https://dtr.example.com/auth, service: dtr, issuer: dtr, rootcertbundle: /x.pem}
notifications:
  endpoints: [{name: a, url: https://events.example.com}]
redis: {addr: localhost:6379}
reporting: {bugsnag: {apikey: x}}
validation: {disabled: true}
compatibility: {schema1: {enabled: true}}
catalog: {maxentries: 100}
http:
  secret: s3cret
  relativeurls: true
  http2: {disabled: true}
  h2c: {enabled: false}
storage:
  redirect: {disable: true}
  filesystem: {rootdirectory: /data, maxthreads: 100}
log:
  hooks: [{type: mail, levels: [panic]}]
health:
  file: [{file: /tmp/down}]
`;
    expect(warningsOf(text).map((warning) => warning.split(':')[0])).toEqual([
      'auth',
      'notifications',
      'redis',
      'reporting',
      'validation',
      'compatibility',
      'catalog',
      'http.secret',
      'http.relativeurls',
      'http.http2',
      'http.h2c',
      'storage.redirect',
      'storage.filesystem.maxthreads',
      'log.hooks',
      'health.file',
    ]);
  });

  it('warns about an ignored section set through the environment', () => {
    expect(warningsOf(DOWNSTREAM, { REGISTRY_REDIS_ADDR: 'localhost:6379' })).toEqual([
      'redis (from REGISTRY_REDIS_ADDR): ignored: nothing is shared through Redis: each cache keeps its own index in memory',
    ]);
  });

  it('refuses a proxy section and other storage drivers, naming what is supported', () => {
    expect(issuesOf(`${DOWNSTREAM}proxy:\n  remoteurl: https://registry-1.docker.io\n`)).toEqual([
      'proxy: not supported: a content cache does not mirror another registry: it caches DTR through the downstream middleware (middleware.registry with name downstream)',
    ]);
    for (const driver of ['s3', 'azure', 'gcs', 'swift', 'oss']) {
      expect(issuesOf(`${DOWNSTREAM}storage:\n  ${driver}:\n    bucket: b\n`)).toEqual([
        `storage.${driver}: not supported: blobs are stored on local disk: storage driver filesystem (or inmemory, for tests)`,
      ]);
    }
    // Variables a Kubernetes service named registry-proxy defines name no key: no refusal.
    expect(
      warningsOf(DOWNSTREAM, {
        REGISTRY_PROXY_PORT: 'tcp://10.0.0.7:80',
        REGISTRY_PROXY_PORT_80_TCP_ADDR: '10.0.0.7',
        REGISTRY_PROXY_SERVICE_HOST: '10.0.0.7',
      }),
    ).toEqual([]);
    expect(issuesOf(DOWNSTREAM, { REGISTRY_PROXY_REMOTEURL: 'https://x.example.com' })[0]).toMatch(
      /^proxy \(from REGISTRY_PROXY_REMOTEURL\): not supported/,
    );
  });

  it('still suggests the key meant for a typo, among honoured and ignored keys', () => {
    expect(issuesOf(`${DOWNSTREAM}notifcations: {}\n`)).toEqual([
      'notifcations: unknown key (did you mean "notifications"?)',
    ]);
    expect(
      issuesOf(`${DOWNSTREAM}storage:\n  maintenance:\n    readonly:\n      enabld: true\n`),
    ).toEqual(['storage.maintenance.readonly.enabld: unknown key (did you mean "enabled"?)']);
  });

  it('takes the deprecated loglevel when log.level is not set, with a warning', () => {
    const config = loadRegistryConfig({ text: `${DOWNSTREAM}loglevel: debug\n`, env: {} });
    expect(config.log.level).toBe('debug');
    expect(config.warnings).toEqual([{ path: 'loglevel', message: 'deprecated: use log.level' }]);
    const both = `${DOWNSTREAM}loglevel: debug\nlog:\n  level: error\n`;
    expect(loadRegistryConfig({ text: both, env: {} }).log.level).toBe('error');
  });

  it('reads storage.cache, maintenance, health and the new http keys', () => {
    const config = loadRegistryConfig({
      env: {},
      text: `${DOWNSTREAM}
storage:
  cache: {blobdescriptor: redis, blobdescriptorsize: 0}
  maintenance:
    uploadpurging: {enabled: true, age: 2h, interval: 10m, dryrun: true}
    readonly: {enabled: true}
http:
  prefix: /cache/
  debug: {addr: 127.0.0.1:5001}
  tls:
    certificate: /c.pem
    key: /k.pem
    clientcas: [/ca.pem]
    clientauth: verify-client-cert-if-given
    minimumtls: tls1.0
    ciphersuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
`,
    });
    expect(config.storage.uploadPurging).toMatchObject({ enabled: true, dryRun: true });
    expect(config.storage.uploadPurging.age.milliseconds).toBe(7_200_000);
    expect(config.storage.uploadPurging.interval.milliseconds).toBe(600_000);
    expect(config.storage.readOnly).toBe(true);
    expect(config.http.prefix).toBe('/cache');
    expect(config.http.debug).toEqual({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 5001 },
      metricsPath: undefined,
    });
    expect(config.http.tls).toMatchObject({
      clientAuth: 'verify-client-cert-if-given',
      minimumVersion: 'TLSv1',
      cipherSuites: [
        'ECDHE-RSA-AES128-GCM-SHA256',
        'TLS_AES_128_GCM_SHA256',
        'TLS_AES_256_GCM_SHA384',
        'TLS_CHACHA20_POLY1305_SHA256',
      ],
    });
    expect(config.warnings).toEqual([
      {
        path: 'storage.cache',
        message: 'redis is not used: blob descriptors come from this server’s own index',
      },
    ]);
  });

  it("refuses clientcas with Let's Encrypt, whose validation carries no client certificate", () => {
    expect(
      issuesOf(
        `${DOWNSTREAM}http:\n  tls:\n    clientcas: [/ca.pem]\n    letsencrypt: { cachefile: /le.json, hosts: [cache.example.com] }\n`,
      ),
    ).toEqual([
      "http.tls.clientcas: is not supported with Let's Encrypt: its validation connections carry no client certificate (use http.tls.certificate and key)",
    ]);
  });

  it('explains bad values of the new keys', () => {
    // A bad value stops before the cross-key checks: only the prefix is reported.
    expect(
      issuesOf(`${DOWNSTREAM}http:\n  prefix: cache\n  debug:\n    prometheus: {enabled: true}\n`),
    ).toEqual(['http.prefix: "cache" is not a URL path starting with "/"']);
    expect(
      issuesOf(`${DOWNSTREAM}http:\n  tls:\n    ciphersuites: [TLS_RSA_WITH_RC4_128_SHA]\n`)[0],
    ).toMatch(/^http\.tls\.ciphersuites: "TLS_RSA_WITH_RC4_128_SHA": RC4 is broken/);
    expect(issuesOf(`${DOWNSTREAM}http:\n  debug:\n    prometheus: {enabled: true}\n`)).toEqual([
      'http.debug.addr: is required with http.debug.prometheus.enabled (metrics are served by the debug server)',
    ]);
  });

  it('gives every key of the format a status in the reference', () => {
    const statuses = new Map(
      describeConfig(registryConfigDefinition).map((key) => [key.path, key.status]),
    );
    for (const path of [
      'http.prefix',
      'http.debug.addr',
      'http.debug.prometheus.path',
      'http.tls.ciphersuites',
      'http.tls.clientauth',
      'storage.maintenance.uploadpurging.age',
      'storage.maintenance.readonly.enabled',
      'storage.cache.blobdescriptor',
      'health.storagedriver.threshold',
      'loglevel',
    ])
      expect(statuses.get(path), path).toBe('honoured');
    for (const path of ['auth', 'notifications', 'redis', 'http.secret', 'storage.tag'])
      expect(statuses.get(path), path).toBe('ignored');
    for (const path of ['proxy', 'storage.s3', 'storage.azure', 'storage.gcs'])
      expect(statuses.get(path), path).toBe('refused');
  });
});

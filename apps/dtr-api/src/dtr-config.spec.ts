import { ConfigError } from '@dtr-cache/config';
import { describe, expect, it } from 'vitest';
import { loadDtrConfig } from './dtr-config';

const base = 'admin: { password: x }\n';

describe('database configuration', () => {
  it("accepts the registry format's version: 0.1 (as the content cache does), and refuses others", () => {
    expect(() => loadDtrConfig({ text: `version: 0.1\n${base}` })).not.toThrow();
    expect(() => loadDtrConfig({ text: `version: "0.1"\n${base}` })).not.toThrow();
    expect(() => loadDtrConfig({ text: `version: 0.2\n${base}` })).toThrow(
      'version: 0.2 is not a supported configuration version (use 0.1)',
    );
  });

  it('uses SQLite at database.path by default, PostgreSQL when database.url is set', () => {
    expect(loadDtrConfig({ text: base }).database).toEqual({
      engine: 'sqlite',
      path: '/var/lib/dtr/dtr.sqlite',
    });
    const url = 'postgres://dtr:secret@db.example.com:5432/dtr?sslmode=verify-full';
    expect(loadDtrConfig({ text: `${base}database: { url: "${url}" }` }).database).toEqual({
      engine: 'postgresql',
      url,
    });
    expect(
      loadDtrConfig({ text: base, env: { DTR_API_DATABASE_URL: 'postgresql://h/dtr' } }).database,
    ).toEqual({ engine: 'postgresql', url: 'postgresql://h/dtr' });
  });

  it('refuses both set explicitly, and URLs that name no PostgreSQL database', () => {
    const load = (text: string) => () => loadDtrConfig({ text: `${base}${text}` });
    expect(load('database: { path: /data/dtr.sqlite, url: "postgres://h/dtr" }')).toThrow(
      'database.path (SQLite) and database.url (PostgreSQL) are both set: choose one',
    );
    // The value is a secret (it holds the password): the error names the key and what it expects.
    for (const bad of ['mysql://h/dtr', 'postgres://u:hunter2@h', 'not a url']) {
      expect(load(`database: { url: "${bad}" }`)).toThrow(ConfigError);
      expect(load(`database: { url: "${bad}" }`)).toThrow(
        'database.url: invalid value (not shown, sensitive): expected a postgres:// (or postgresql://) URL naming a host and a database',
      );
    }
    try {
      load('database: { url: "postgres://u:hunter2@h" }')();
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});

describe("the registry's shared sections (log, http, storage)", () => {
  it('reads them with the same keys and meaning as the content cache', () => {
    const config = loadDtrConfig({
      text: `${base}
storage:
  cache: { blobdescriptor: inmemory }
  maintenance: { readonly: { enabled: true } }
http:
  debug: { addr: 127.0.0.1:5001, prometheus: { enabled: true, path: /prom } }
  tls:
    certificate: /c.pem
    key: /k.pem
    minimumtls: tls1.3
    ciphersuites: [TLS_AES_128_GCM_SHA256]
log: { level: debug, formatter: logstash, fields: { service: dtr } }
`,
    });
    expect(config.storage.readOnly).toBe(true);
    expect(config.http.debug).toEqual({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 5001 },
      metricsPath: '/prom',
    });
    expect(config.http.tls).toMatchObject({
      minimumVersion: 'TLSv1.3',
      cipherSuites: [
        'TLS_AES_128_GCM_SHA256',
        'TLS_AES_256_GCM_SHA384',
        'TLS_CHACHA20_POLY1305_SHA256',
      ],
    });
    expect(config.log).toMatchObject({ level: 'debug', formatter: 'logstash' });
    expect(config.warnings).toEqual([]);
  });

  it('warns about keys DTR accepts without effect, and refuses those it cannot honour', () => {
    const config = loadDtrConfig({
      text: `${base}storage:\n  maintenance:\n    uploadpurging: { enabled: true, age: 168h }\n  tag: { concurrencylimit: 8 }\nhttp:\n  secret: x\n`,
    });
    expect(config.warnings.map((warning) => warning.path)).toEqual([
      'storage.maintenance.uploadpurging',
      'storage.tag',
      'http.secret',
    ]);
    expect(config.warnings[0]?.message).toMatch(/registry\.uploads\.idletimeout/);
    // Ignored here, a key of the shared schema is not even parsed: a bad value only warns.
    const fromEnv = loadDtrConfig({
      text: base,
      env: { DTR_API_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: 'a week' },
    });
    expect(fromEnv.warnings.map((warning) => warning.path)).toEqual([
      'storage.maintenance.uploadpurging (from DTR_API_STORAGE_MAINTENANCE_UPLOADPURGING_AGE)',
    ]);
    expect(() => loadDtrConfig({ text: `${base}http: { prefix: /dtr/ }\n` })).toThrow(
      'http.prefix: not supported: DTR serves at the root path of its host',
    );
    expect(() => loadDtrConfig({ text: base, env: { DTR_API_HTTP_PREFIX: '/dtr' } })).toThrow(
      'http.prefix (from DTR_API_HTTP_PREFIX): not supported',
    );
    expect(() =>
      loadDtrConfig({
        text: `${base}http:\n  tls:\n    letsencrypt: { cachefile: /le.json, hosts: [dtr.example.com] }\n`,
      }),
    ).toThrow('http.tls.letsencrypt: not supported: configure http.tls.certificate and key');
    expect(() => loadDtrConfig({ text: `${base}storage: { s3: { bucket: b } }\n` })).toThrow(
      'storage.s3: not supported: blobs are stored on local disk',
    );
  });
});

describe('garbage collection configuration', () => {
  it('refuses a grace period an idle upload outlives, and a pool too small for a scheduled run', () => {
    expect(() => loadDtrConfig({ text: `${base}garbagecollection: { grace: 10m }\n` })).toThrow(
      'garbagecollection.grace: 10m must be longer than registry.uploads.idletimeout (15m)',
    );
    expect(
      loadDtrConfig({ text: `${base}garbagecollection: { schedule: 24h, grace: 2h }\n` })
        .garbageCollection.schedule?.milliseconds,
    ).toBe(86_400_000);
    expect(() =>
      loadDtrConfig({
        text: `${base}garbagecollection: { schedule: 24h }\ndatabase: { url: "postgres://h/dtr", poolsize: 1 }\n`,
      }),
    ).toThrow('database.poolsize: must be at least 2 with garbagecollection.schedule');
  });
});

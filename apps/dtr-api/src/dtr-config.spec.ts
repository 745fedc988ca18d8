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

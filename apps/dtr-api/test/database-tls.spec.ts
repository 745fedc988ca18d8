import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCertificates, type PostgresServer, startPostgres } from '@dtr-cache/test-support';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/database';
import { DatabaseUrlError } from '../src/store/postgres-connection';
import { type RunningDtr, startDtr } from './dtr-harness';

// database.url's sslmode and sslrootcert against PostgreSQL servers that accept TLS connections
// only: one whose certificate names its address, one whose certificate names another host.
// Servers of this spec's own; runs in the PostgreSQL project only (see vitest.postgres.config.ts).
const HOST = '127.0.0.63';
let directory: string;
let named: PostgresServer;
let misnamed: PostgresServer;
let dtr: RunningDtr | undefined;
const ca = () => join(directory, 'ours', 'ca.pem');
const foreignCa = () => join(directory, 'foreign', 'ca.pem');

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dtr-database-tls-'));
  generateCertificates(join(directory, 'ours'), `named=${HOST}`, 'misnamed=db.example.invalid');
  generateCertificates(join(directory, 'foreign'), `impostor=${HOST}`);
  const tls = (name: string) => ({
    certificate: join(directory, 'ours', `${name}.pem`),
    key: join(directory, 'ours', `${name}-key.pem`),
  });
  [named, misnamed] = await Promise.all([
    startPostgres({ host: HOST, port: 55463, tls: tls('named') }),
    startPostgres({ host: HOST, port: 55464, tls: tls('misnamed') }),
  ]);
}, 120_000);
afterAll(async () => {
  await dtr?.close();
  await Promise.all([named?.stop(), misnamed?.stop()]);
  await rm(directory, { recursive: true, force: true });
});

/** Opens the database at `url` + `query`, and answers whether the session is encrypted. */
async function encrypted(server: PostgresServer, query: string): Promise<boolean> {
  const { database } = await openDatabase({
    engine: 'postgresql',
    url: `${server.url()}?${query}`,
  });
  try {
    const { rows } = await sql<{
      ssl: boolean;
    }>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`.execute(database);
    return rows[0]?.ssl === true;
  } finally {
    await database.destroy();
  }
}

describe('database.url sslmode and sslrootcert (libpq semantics)', () => {
  it('verify-full with the server’s CA connects, encrypted', async () => {
    expect(await encrypted(named, `sslmode=verify-full&sslrootcert=${ca()}`)).toBe(true);
  });

  it('verify-full refuses a server whose certificate another CA signed', async () => {
    await expect(
      encrypted(named, `sslmode=verify-full&sslrootcert=${foreignCa()}`),
    ).rejects.toThrow(/certificate/);
  });

  it('verify-full refuses a certificate that names another host; verify-ca accepts it', async () => {
    await expect(encrypted(misnamed, `sslmode=verify-full&sslrootcert=${ca()}`)).rejects.toThrow(
      /does not match certificate's altnames/,
    );
    expect(await encrypted(misnamed, `sslmode=verify-ca&sslrootcert=${ca()}`)).toBe(true);
  });

  it('require encrypts without checking the certificate, unless sslrootcert is given', async () => {
    expect(await encrypted(named, 'sslmode=require')).toBe(true);
    await expect(encrypted(named, `sslmode=require&sslrootcert=${foreignCa()}`)).rejects.toThrow(
      /certificate/,
    );
  });

  it('disable (and no sslmode) connects in plain text, which a TLS-only server refuses', async () => {
    await expect(encrypted(named, 'sslmode=disable')).rejects.toThrow(/no encryption/);
    await expect(encrypted(named, '')).rejects.toThrow(/no encryption/);
  });

  it('refuses prefer, allow, verify-ca without a CA and a missing CA file, before connecting', async () => {
    for (const [query, message] of [
      ['sslmode=prefer', /sslmode "prefer" is not supported/],
      ['sslmode=allow', /sslmode "allow" is not supported/],
      ['sslmode=verify-ca', /verify-ca needs sslrootcert/],
      [`sslmode=verify-full&sslrootcert=${join(directory, 'absent.pem')}`, /absent\.pem/],
    ] as const) {
      const opening = encrypted(named, query);
      await expect(opening).rejects.toBeInstanceOf(DatabaseUrlError);
      await expect(opening).rejects.toThrow(message);
      await expect(opening).rejects.not.toThrow(/dtr-cache-test/);
    }
  });

  it('DTR runs on a TLS-only server with sslmode=verify-full: push, then pull', async () => {
    const url = `${named.url()}?sslmode=verify-full&sslrootcert=${ca()}`;
    dtr = await startDtr(
      '',
      {},
      {
        database: {
          location: { engine: 'postgresql', url },
          yaml: `database: { url: "${url}" }`,
          drop: async () => undefined,
        },
      },
    );
    const alice = await dtr.createUser('alice');
    const digest = await dtr.pushBlob('alice/app', Buffer.from('a layer over TLS'), alice);
    const pulled = await dtr.fetch(`/v2/alice/app/blobs/${digest}`, { authorization: alice });
    expect(pulled.status).toBe(200);
    expect(await pulled.text()).toBe('a layer over TLS');
  }, 60_000);
});

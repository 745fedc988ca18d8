import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Digest, MediaTypes } from '@dtr-cache/registry-protocol';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';
import { createTestDatabase, type TestDatabase } from './test-database';

// `dtr-api migrate-db`: a registry used on SQLite, copied into PostgreSQL, then used there. Runs in
// the PostgreSQL project only (see vitest.postgres.config.ts).
const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'dtr-api.mjs');
const admin = basic(ADMIN.username, ADMIN.password);

let directory: string;
let target: TestDatabase;
/** Both DTRs keep their blobs here: the storage root does not move. */
let env: Record<string, string>;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dtr-migrate-'));
  target = await createTestDatabase();
  env = { DTR_API_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(directory, 'blobs') };
});
afterAll(async () => {
  await target?.drop();
  await rm(directory, { recursive: true, force: true });
});

function migrateDb(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'migrate-db', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** Pushes a one-layer image tagged `v1` into `repository`; returns its manifest digest. */
async function pushImage(dtr: RunningDtr, repository: string, authorization: string) {
  const layer = await dtr.pushBlob(
    repository,
    Buffer.from(`layer of ${repository}`),
    authorization,
  );
  const config = Buffer.from('{}');
  const configDigest = await dtr.pushBlob(repository, config, authorization);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: `${configDigest}`, size: config.length },
    layers: [
      {
        mediaType: MediaTypes.ociLayerGzip,
        digest: `${layer}`,
        size: Buffer.byteLength(`layer of ${repository}`),
      },
    ],
  });
  const bearer = `Bearer ${await dtr.token([`repository:${repository}:pull,push`], authorization)}`;
  const put = await dtr.fetch(`/v2/${repository}/manifests/v1`, {
    method: 'PUT',
    authorization: bearer,
    headers: { 'Content-Type': MediaTypes.ociManifest },
    body: manifest,
  });
  expect(put.status).toBe(201);
  return { manifest: Digest.of(Buffer.from(manifest)), layer };
}

describe('dtr-api migrate-db', () => {
  it('refuses bad arguments with its usage, and a target that is not PostgreSQL', async () => {
    const usage = await migrateDb(['--from', '/tmp/x.sqlite']);
    expect(usage.code).toBe(2);
    expect(usage.output).toContain('usage: dtr-api migrate-db --from <sqlite file> --to <postgres');
    const wrong = await migrateDb(['--from', '/no/such.sqlite', '--to', 'mysql://db/dtr']);
    expect(wrong.code).toBe(1);
    expect(wrong.output).toContain('dtr-api migrate-db: --to must be a postgres:// URL');
    const missing = await migrateDb(['--from', '/no/such.sqlite', '--to', 'postgres://db/dtr']);
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('dtr-api migrate-db: --from: no such file /no/such.sqlite');
  });

  it('copies every row into PostgreSQL, checks the counts, and the registry works there: pulls, settings, ids never reused', async () => {
    const sqlitePath = join(directory, 'dtr.sqlite');
    const before = await startDtr('', env, {
      database: {
        location: { engine: 'sqlite', path: sqlitePath },
        yaml: `database: { path: ${sqlitePath} }`,
        drop: async () => undefined,
      },
    });
    const alice = await before.createUser('alice');
    await before.createUser('gone');
    expect(
      (
        await before.fetch('/api/v0/accounts', {
          ...json('POST', { name: 'team', type: 'organization' }),
          authorization: admin,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await before.fetch('/api/v0/accounts/team/members/alice', {
          method: 'PUT',
          authorization: admin,
        })
      ).status,
    ).toBe(200);
    const image = await pushImage(before, 'alice/app', alice);
    await pushImage(before, 'team/tool', alice);
    expect(
      (
        await before.fetch('/api/v0/content_caches', {
          ...json('POST', { name: 'east', host: 'http://127.0.0.1:1' }),
          authorization: admin,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await before.fetch('/api/v0/accounts/alice/settings', {
          ...json('PATCH', { contentCache: 'east' }),
          authorization: alice,
        })
      ).status,
    ).toBe(200);
    const goneId = (await before.services.accounts.find('gone'))?.id as number;
    expect(
      (await before.fetch('/api/v0/accounts/gone', { method: 'DELETE', authorization: admin }))
        .status,
    ).toBe(204);
    await before.close();
    // Two dashboard samples of the cache (as the sampler stores them; none is taken here).
    const sqlite = new BetterSqlite3(sqlitePath);
    const sample = sqlite.prepare(
      "insert into cache_stats_samples (cache_id, host, slot, sampled_at, ok) values ((select id from content_caches where name = 'east'), 'http://127.0.0.1:1', ?, 'then', 0)",
    );
    sample.run(1);
    sample.run(2);
    sqlite.close();

    const copied = await migrateDb([
      '--from',
      sqlitePath,
      '--to',
      (target.location as { url: string }).url,
    ]);
    expect(copied.output).toContain('accounts: 3 rows copied');
    expect(copied.output).toContain('memberships: 1 rows copied');
    expect(copied.output).toContain('repositories: 2 rows copied');
    expect(copied.output).toContain('tags: 2 rows copied');
    expect(copied.output).toContain('content_caches: 1 rows copied');
    expect(copied.output).toContain('cache_stats_samples: 2 rows copied');
    expect(copied.output).toContain('maintenance_leases: not copied');
    expect(copied.output).toContain(
      'checked: every copied table has as many rows in PostgreSQL as in SQLite',
    );
    expect(copied.code).toBe(0);
    // A second copy into the same database is refused: it would mix two registries.
    const again = await migrateDb([
      '--from',
      sqlitePath,
      '--to',
      (target.location as { url: string }).url,
    ]);
    expect(again.code).toBe(1);
    expect(again.output).toContain('the target database is not empty');

    const after = await startDtr('', env, { database: { ...target, drop: async () => undefined } });
    try {
      const bearer = `Bearer ${await after.token(['repository:alice/app:pull'], alice)}`;
      const manifest = await after.fetch('/v2/alice/app/manifests/v1', {
        authorization: bearer,
        headers: { Accept: MediaTypes.ociManifest },
      });
      expect(manifest.status).toBe(200);
      expect(Digest.of(Buffer.from(await manifest.arrayBuffer())).toString()).toBe(
        `${image.manifest}`,
      );
      // Alice's setting came along: her blob pull is sent to her cache (unhealthy here, so served).
      const blob = await after.fetch(`/v2/alice/app/blobs/${image.layer}`, {
        authorization: bearer,
      });
      expect(blob.status).toBe(200);
      expect(await blob.text()).toBe('layer of alice/app');
      expect(
        await (
          await after.fetch('/api/v0/accounts/alice/settings', { authorization: alice })
        ).json(),
      ).toMatchObject({ contentCache: 'east', contentCacheChoice: 'cache' });
      const members = await after.fetch('/api/v0/accounts/team/members', { authorization: alice });
      expect(
        ((await members.json()) as { members: Array<{ name: string }> }).members.map((m) => m.name),
      ).toEqual(['alice']);
      // The deleted account's id is not given to the next one.
      await after.createUser('newcomer');
      expect((await after.services.accounts.find('newcomer'))?.id).toBeGreaterThan(goneId);
      // The samples' id counter continues after the copied ones.
      const client = new pg.Client({ connectionString: (target.location as { url: string }).url });
      await client.connect();
      try {
        const next = await client.query<{ id: number }>(
          "insert into cache_stats_samples (cache_id, host, slot, sampled_at, ok) select id, 'http://127.0.0.1:1', 3, 'now', 0 from content_caches where name = 'east' returning id",
        );
        expect(Number(next.rows[0]?.id)).toBe(3);
      } finally {
        await client.end();
      }
    } finally {
      await after.close();
    }
  }, 60_000);
});

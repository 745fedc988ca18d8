import { RegistryError } from '@dtr-cache/registry-protocol';
import { describe, expect, it } from 'vitest';
import { databasePerTest } from '../../test/test-database';
import { AccountStore } from './account-store';
import { MIGRATIONS } from './migrations';
import { RepositoryStore } from './repository-store';
import type { Database } from './schema';

const { open, closeAll } = databasePerTest('dtr-blob-links-');

const digestOf = (character: string) => `sha256:${character.repeat(64)}`;
const LONG_AGO = '2000-01-01T00:00:00.000Z';

async function linkedAt(database: Database, repositoryId: number, digest: string) {
  const row = await database
    .selectFrom('repository_blobs')
    .select('linked_at')
    .where('repository_id', '=', repositoryId)
    .where('digest', '=', digest)
    .executeTakeFirst();
  return row?.linked_at;
}

async function setUp(database: Database) {
  const accounts = new AccountStore(database);
  const repositories = new RepositoryStore(database);
  const alice = await accounts.create({ name: 'alice', kind: 'user', passwordHash: 'x' });
  return {
    repositories,
    app: await repositories.create(alice, 'app', 'private'),
    other: await repositories.create(alice, 'other', 'private'),
  };
}

describe('schema 8 (garbage collection) on a database of schema 7', () => {
  it('keeps the links made before, untimed, and times them when they are made again', async () => {
    const before = await open(MIGRATIONS.filter((migration) => migration.version <= 7));
    const { app } = await setUp(before.database);
    await before.database
      .insertInto('repository_blobs')
      .values({ repository_id: app.id, digest: digestOf('a'), size: 3 })
      .execute();
    await closeAll();
    const after = await open(MIGRATIONS.filter((migration) => migration.version <= 8));
    expect(after.migration.applied).toEqual([8]);
    expect(await linkedAt(after.database, app.id, digestOf('a'))).toBeNull();
    await new RepositoryStore(after.database).linkBlob(app, digestOf('a'), 3);
    expect(await linkedAt(after.database, app.id, digestOf('a'))).not.toBeNull();
  });
});

describe('blob links', () => {
  it('store a manifest only while every blob it uses is linked, and stamp those links as used', async () => {
    const { database } = await open();
    const { repositories, app } = await setUp(database);
    await repositories.linkBlob(app, digestOf('1'), 10);
    await database.updateTable('repository_blobs').set({ linked_at: LONG_AGO }).execute();
    const manifest = { digest: digestOf('m'), mediaType: 'application/json', size: 2 };
    const refused = await repositories
      .putManifest(app, manifest, 'v1', undefined, [digestOf('1'), digestOf('2')])
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RegistryError);
    expect(refused).toMatchObject({
      code: 'MANIFEST_BLOB_UNKNOWN',
      detail: { digest: digestOf('2') },
    });
    // Nothing of the refused manifest is kept, and the link it would have used is not stamped.
    expect(await repositories.manifest(app, digestOf('m'))).toBeUndefined();
    expect(await repositories.tags(app)).toEqual([]);
    expect(await linkedAt(database, app.id, digestOf('1'))).toBe(LONG_AGO);

    const before = Date.now();
    await repositories.putManifest(app, manifest, 'v1', undefined, [digestOf('1'), digestOf('1')]);
    expect(await repositories.tags(app)).toEqual(['v1']);
    const stamped = Date.parse((await linkedAt(database, app.id, digestOf('1'))) ?? LONG_AGO);
    expect(stamped).toBeGreaterThanOrEqual(before);
  });

  it('mount a blob only while the source links it, stamping the new link', async () => {
    const { database } = await open();
    const { repositories, app, other } = await setUp(database);
    expect(await repositories.mountBlob(app, other, digestOf('1'))).toBeUndefined();
    expect(await repositories.linkedBlobSize(other, digestOf('1'))).toBeUndefined();
    await repositories.linkBlob(app, digestOf('1'), 10);
    await database.updateTable('repository_blobs').set({ linked_at: LONG_AGO }).execute();
    expect(await repositories.mountBlob(app, other, digestOf('1'))).toBe(10);
    expect(await repositories.linkedBlobSize(other, digestOf('1'))).toBe(10);
    expect(await linkedAt(database, other.id, digestOf('1'))).not.toBe(LONG_AGO);
    // The source's link is left as it was.
    expect(await linkedAt(database, app.id, digestOf('1'))).toBe(LONG_AGO);
  });
});

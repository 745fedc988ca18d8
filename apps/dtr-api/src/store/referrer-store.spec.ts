import { describe, expect, it } from 'vitest';
import { databasePerTest } from '../../test/test-database';
import { AccountStore } from './account-store';
import { MIGRATIONS } from './migrations';
import { ReferrerStore } from './referrer-store';
import { RepositoryStore } from './repository-store';

const { open, closeAll } = databasePerTest('dtr-referrers-');

const subject = `sha256:${'a'.repeat(64)}`;
const digestOf = (character: string) => `sha256:${character.repeat(64)}`;

describe('schema 7 (referrers) on a database of schema 6', () => {
  it('keeps the manifests stored before, listed as referrers of nothing until recorded', async () => {
    const before = await open(MIGRATIONS.filter((migration) => migration.version <= 6));
    const { id: namespaceId } = await before.database
      .insertInto('accounts')
      .values({ name: 'alice', kind: 'user', password_hash: 'x', created_at: 'then' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const { id: repositoryId } = await before.database
      .insertInto('repositories')
      .values({ namespace_id: namespaceId, name: 'app', visibility: 'private', created_at: 'then' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await before.database
      .insertInto('manifests')
      .values({
        repository_id: repositoryId,
        digest: digestOf('b'),
        media_type: 'application/vnd.oci.image.manifest.v1+json',
        size: 10,
        created_at: 'then',
      })
      .execute();
    await closeAll();

    const after = await open(MIGRATIONS.filter((migration) => migration.version <= 7));
    expect(after.migration.applied).toEqual([7]);
    const repository = await new RepositoryStore(after.database).find('alice/app');
    if (!repository) throw new Error('the repository is gone');
    const referrers = new ReferrerStore(after.database);
    expect(await referrers.referrers(repository, subject, { limit: 10 })).toEqual([]);
    await referrers.record(repository, digestOf('b'), {
      subject,
      artifactType: 'application/vnd.example.signature.v1',
      annotations: { signer: 'alice' },
    });
    expect(await referrers.referrers(repository, subject, { limit: 10 })).toEqual([
      {
        digest: digestOf('b'),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 10,
        artifactType: 'application/vnd.example.signature.v1',
        annotations: { signer: 'alice' },
      },
    ]);
  });
});

describe('ReferrerStore', () => {
  it('lists by digest after a cursor, filtered by artifact type, and forgets deleted manifests', async () => {
    const { database } = await open();
    const accounts = new AccountStore(database);
    const repositories = new RepositoryStore(database);
    const referrers = new ReferrerStore(database);
    const alice = await accounts.create({ name: 'alice', kind: 'user', passwordHash: 'x' });
    const repository = await repositories.create(alice, 'app', 'private');
    for (const [character, type] of [
      ['d', 'application/vnd.example.sbom.v1'],
      ['c', 'application/vnd.example.signature.v1'],
      ['e', 'application/vnd.example.signature.v1'],
    ] as const) {
      await repositories.putManifest(
        repository,
        {
          digest: digestOf(character),
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          size: 1,
        },
        undefined,
        { subject, artifactType: type, annotations: undefined },
      );
    }
    const list = async (options: { artifactType?: string; after?: string }) =>
      (await referrers.referrers(repository, subject, { ...options, limit: 10 })).map(
        (r) => r.digest,
      );
    expect(await list({})).toEqual([digestOf('c'), digestOf('d'), digestOf('e')]);
    expect(await list({ after: digestOf('c') })).toEqual([digestOf('d'), digestOf('e')]);
    expect(await list({ artifactType: 'application/vnd.example.signature.v1' })).toEqual([
      digestOf('c'),
      digestOf('e'),
    ]);
    expect(await referrers.referrers(repository, subject, { limit: 1 })).toHaveLength(1);
    await repositories.deleteManifest(repository, digestOf('d'));
    expect(await list({})).toEqual([digestOf('c'), digestOf('e')]);
  });
});

import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Digest, MediaTypes, signBlobGrant } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';
import { createTestDatabase, type TestDatabase } from './test-database';

// Two DTR replicas on one PostgreSQL database and one storage root, as behind a load balancer
// without stickiness: a client's consecutive requests land on either. Runs in the PostgreSQL
// project only (see vitest.postgres.config.ts).
let shared: string;
let database: TestDatabase;
let one: RunningDtr;
let two: RunningDtr;
let alice: string;
/** Starts one more replica on the same database and storage root. */
let startReplica: () => Promise<RunningDtr>;

beforeAll(async () => {
  shared = await mkdtemp(join(tmpdir(), 'dtr-replicas-'));
  database = await createTestDatabase();
  const env = {
    DTR_API_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(shared, 'blobs'),
    DTR_API_AUTH_THROTTLE_FREEATTEMPTS: '3',
  };
  const replica = { database: { ...database, drop: async () => undefined } };
  startReplica = () => startDtr('', env, replica);
  one = await startReplica();
  two = await startReplica();
  alice = await one.createUser('alice');
  await two.pushBlob('alice/app', Buffer.from('creates the repository'), alice);
}, 60_000);
afterAll(async () => {
  await one?.close();
  await two?.close();
  await database?.drop();
  await rm(shared, { recursive: true, force: true });
});

const bearerOn = async (dtr: RunningDtr) =>
  `Bearer ${await dtr.token(['repository:alice/app:pull,push'], alice)}`;

describe('replicas sharing one database and one storage root', () => {
  it('completes a chunked upload whose requests alternate between them, and serves it from both', async () => {
    const content = Buffer.from('0123456789'.repeat(1000));
    const digest = Digest.of(content);
    // A token one replica issued is good on the other (they share the token key).
    const token = await bearerOn(one);
    const started = await one.fetch('/v2/alice/app/blobs/uploads/', {
      method: 'POST',
      authorization: token,
    });
    expect(started.status).toBe(202);
    let location = started.headers.get('location') as string;
    const replicas = [two, one, two];
    for (const [index, dtr] of replicas.entries()) {
      const chunk = content.subarray(index * 3000, index === 2 ? undefined : (index + 1) * 3000);
      const from = index * 3000;
      const patched = await dtr.fetch(location, {
        method: 'PATCH',
        authorization: token,
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${from}-${from + chunk.length - 1}`,
        },
        body: chunk,
      });
      expect(patched.status, `PATCH ${index} on replica ${dtr === one ? 1 : 2}`).toBe(202);
      expect(patched.headers.get('range')).toBe(`0-${from + chunk.length - 1}`);
      location = patched.headers.get('location') as string;
    }
    const status = await two.fetch(location, { authorization: token });
    expect(status.headers.get('range')).toBe(`0-${content.length - 1}`);
    const separator = location.includes('?') ? '&' : '?';
    const put = await one.fetch(`${location}${separator}digest=${digest}`, {
      method: 'PUT',
      authorization: token,
    });
    expect(put.status).toBe(201);
    for (const dtr of [one, two]) {
      const blob = await dtr.fetch(`/v2/alice/app/blobs/${digest}`, { authorization: token });
      expect(blob.status).toBe(200);
      expect(Buffer.from(await blob.arrayBuffer()).equals(content)).toBe(true);
    }
  });

  it('keeps the temp file of an upload under way on another replica when a replica starts', async () => {
    const token = await bearerOn(one);
    const content = randomBytes(2 * 1024 * 1024);
    const digest = Digest.of(content);
    const target = new URL(`${one.url}/v2/alice/app/blobs/uploads/?digest=${digest}`);
    const upload = request(target, {
      method: 'POST',
      headers: {
        Authorization: token,
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(content.length),
      },
    });
    const answered = new Promise<number>((resolve, reject) => {
      upload.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      upload.on('error', reject);
    });
    // Half the bytes are in replica one's temp file when another replica starts (and cleans up).
    upload.write(content.subarray(0, content.length / 2));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const three = await startReplica();
    await three.close();
    upload.end(content.subarray(content.length / 2));
    expect(await answered).toBe(201);
    const blob = await two.fetch(`/v2/alice/app/blobs/${digest}`, { authorization: token });
    expect(blob.status).toBe(200);
    expect(Buffer.from(await blob.arrayBuffer()).equals(content)).toBe(true);
  });

  it('lets one request at a time write to a session, whichever replica it reaches', async () => {
    const token = await bearerOn(one);
    const started = await one.fetch('/v2/alice/app/blobs/uploads/', {
      method: 'POST',
      authorization: token,
    });
    const location = started.headers.get('location') as string;
    // A PATCH on replica 1 that has sent half its bytes and waits...
    const url = new URL(location, one.url);
    const slow = request(url, {
      method: 'PATCH',
      headers: {
        Authorization: token,
        'Content-Length': 8,
        'Content-Type': 'application/octet-stream',
      },
    });
    const answered = new Promise<number>((resolve, reject) => {
      slow.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      slow.on('error', reject);
    });
    slow.write('abcd');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // ...and a second PATCH on replica 2 meanwhile: refused, the bytes stay consistent.
    const second = await two.fetch(location, {
      method: 'PATCH',
      authorization: token,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: 'zzzz',
    });
    expect(second.status).toBe(404);
    expect(((await second.json()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(
      'BLOB_UPLOAD_INVALID',
    );
    slow.end('efgh');
    expect(await answered).toBe(202);
    const status = await two.fetch(location, { authorization: token });
    expect(status.headers.get('range')).toBe('0-7');
    const put = await two.fetch(
      `${location}${location.includes('?') ? '&' : '?'}digest=${Digest.of(Buffer.from('abcdefgh'))}`,
      { method: 'PUT', authorization: token },
    );
    expect(put.status).toBe(201);
  });

  it('ends concurrent pushes of one tag from both replicas in one consistent state', async () => {
    const token = await bearerOn(one);
    const config = Buffer.from('{"architecture":"amd64"}');
    const configDigest = await one.pushBlob('alice/app', config, alice);
    const manifests = ['a', 'b'].map((variant) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: `${configDigest}`, size: config.length },
        layers: [],
        annotations: { variant },
      }),
    );
    for (let round = 0; round < 10; round += 1) {
      const answers = await Promise.all(
        [one, two].map((dtr, index) =>
          dtr.fetch('/v2/alice/app/manifests/latest', {
            method: 'PUT',
            authorization: token,
            headers: { 'Content-Type': MediaTypes.ociManifest },
            body: manifests[index],
          }),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual([201, 201]);
    }
    const seen = await Promise.all(
      [one, two].map(async (dtr) => {
        const response = await dtr.fetch('/v2/alice/app/manifests/latest', {
          authorization: token,
          headers: { Accept: MediaTypes.ociManifest },
        });
        return response.headers.get('docker-content-digest');
      }),
    );
    expect(seen[0]).toBe(seen[1]);
    expect(manifests.map((body) => `${Digest.of(Buffer.from(body))}`)).toContain(seen[0]);
    for (const body of manifests) {
      const byDigest = await two.fetch(`/v2/alice/app/manifests/${Digest.of(Buffer.from(body))}`, {
        authorization: token,
        headers: { Accept: MediaTypes.ociManifest },
      });
      expect(byDigest.status).toBe(200);
    }
  });
});

describe('an organization on two replicas', () => {
  it('keeps its last owner when both replicas remove one of its two owners at once', async () => {
    const admin = basic(ADMIN.username, ADMIN.password);
    const owners = ['olga', 'oscar'];
    for (const owner of owners) await one.createUser(owner);
    const created = await one.fetch('/api/v0/accounts', {
      ...json('POST', { name: 'guild', type: 'organization' }),
      authorization: admin,
    });
    expect(created.status).toBe(201);
    const members = async () =>
      (
        (await (
          await two.fetch('/api/v0/accounts/guild/members', { authorization: admin })
        ).json()) as { members: Array<{ name: string; role: string }> }
      ).members;
    for (let round = 0; round < 5; round += 1) {
      for (const owner of owners)
        expect(
          (
            await one.fetch(`/api/v0/accounts/guild/members/${owner}`, {
              ...json('PUT', { role: 'owner' }),
              authorization: admin,
            })
          ).status,
        ).toBe(200);
      const answers = await Promise.all(
        [one, two].map((dtr, index) =>
          dtr.fetch(`/api/v0/accounts/guild/members/${owners[index]}`, {
            method: 'DELETE',
            authorization: admin,
          }),
        ),
      );
      expect(answers.map((answer) => answer.status).sort()).toEqual([204, 409]);
      expect((await members()).filter((member) => member.role === 'owner')).toHaveLength(1);
    }
  });
});

describe('grant signing keys shared by the replicas', () => {
  it('rotates once when both are due at once, publishes the new key on both before it signs, and each verifies what the other signed', async () => {
    const before = one.services.grantKeys.signingKey.keyId;
    expect(two.services.grantKeys.signingKey.keyId).toBe(before);
    const now = new Date();
    const rotated = await Promise.all([
      one.services.grantKeys.rotateIfDue(0, now),
      two.services.grantKeys.rotateIfDue(0, now),
    ]);
    const added = rotated.filter((key) => key !== undefined);
    expect(added).toHaveLength(1);
    const next = added[0]?.keyId as string;
    await one.services.grantKeys.reload();
    await two.services.grantKeys.reload();
    for (const dtr of [one, two]) {
      // Published by both (JWKS) at once, but not signing yet.
      const published = (await (await dtr.fetch('/.well-known/jwks.json')).json()) as {
        keys: Array<{ kid: string }>;
      };
      expect(published.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([before, next]));
      expect(dtr.services.grantKeys.signingKey.keyId).toBe(before);
      expect(dtr.services.grantKeys.signingKeyAt(new Date(Date.now() + 61_000)).keyId).toBe(next);
    }
    // A cache filling its copy with a grant replica 1 signs with the new key, at replica 2.
    const layer = await one.pushBlob('alice/app', Buffer.from('layer for the grant'), alice);
    const account = await one.services.accounts.find('alice');
    const grant = await signBlobGrant(
      one.services.grantKeys.signingKeyAt(new Date(Date.now() + 61_000)),
      {
        repository: 'alice/app',
        digest: layer,
        subject: 'alice',
        accountId: account?.id as number,
        generation: account?.generation as number,
        lifetimeSeconds: 60,
        issuer: 'dtr',
      },
    );
    const filled = await two.fetch(`/v2/alice/app/blobs/${layer}?grant=${grant}`);
    expect(filled.status).toBe(200);
    expect(await filled.text()).toBe('layer for the grant');
  });
});

// Last: it leaves this client's address held back.
describe('failed password checks shared by the replicas', () => {
  it('holds an account back on every replica after failures spread over them', async () => {
    await one.createUser('target', 'the-right-password');
    const attempt = (dtr: RunningDtr, password: string) =>
      dtr.fetch('/v2/', {
        authorization: `Basic ${Buffer.from(`target:${password}`).toString('base64')}`,
      });
    expect((await attempt(one, 'guess-1')).status).toBe(401);
    expect((await attempt(two, 'guess-2')).status).toBe(401);
    expect((await attempt(one, 'guess-3')).status).toBe(401);
    // The fourth guess, on the other replica: held back as on one DTR.
    const held = await attempt(two, 'guess-4');
    expect(held.status).toBe(429);
    expect(held.headers.get('retry-after')).toBe('1');
  });
});

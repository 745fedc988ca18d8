import { randomBytes } from 'node:crypto';
import { readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Digest } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

/** Descriptors this process has open on files under `directory`. */
async function openFilesUnder(directory: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(directory)) count += 1;
  }
  return count;
}

/** Starts an upload session in `repository` as `user`: its bearer header and location. */
async function startSession(dtr: RunningDtr, user: string, repository: string) {
  const bearer = `Bearer ${await dtr.token([`repository:${repository}:pull,push`], user)}`;
  const started = await dtr.fetch(`/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    authorization: bearer,
  });
  return { bearer, location: started.headers.get('location') as string };
}

async function codeOf(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
}

describe('upload sessions are bounded', () => {
  let dtr: RunningDtr;
  let alice: string;
  let bob: string;
  let carol: string;
  const bearers = new Map<string, string>();

  beforeAll(async () => {
    dtr = await startDtr('', {
      DTR_API_REGISTRY_UPLOADS_MAXPERACCOUNT: '5',
      DTR_API_REGISTRY_UPLOADS_MAXSESSIONS: '8',
      DTR_API_REGISTRY_UPLOADS_IDLETIMEOUT: '2s',
    });
    alice = await dtr.createUser('alice');
    bob = await dtr.createUser('bob');
    carol = await dtr.createUser('carol');
    for (const [name, basicAuth] of [
      ['alice', alice],
      ['bob', bob],
      ['carol', carol],
    ] as const)
      bearers.set(
        name,
        `Bearer ${await dtr.token([`repository:${name}/app:pull,push`], basicAuth)}`,
      );
  });
  afterAll(async () => dtr.close());

  const start = (name: string) =>
    dtr.fetch(`/v2/${name}/app/blobs/uploads/`, {
      method: 'POST',
      authorization: bearers.get(name) as string,
    });

  it('refuses sessions past the per-account cap with 429 TOOMANYREQUESTS and Retry-After; others go on', async () => {
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let index = 0; index < 7; index += 1) {
      const response = await start('alice');
      statuses.push(response.status);
      if (response.status === 429) refused = response;
      else await response.arrayBuffer();
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429]);
    expect(await codeOf(refused as Response)).toBe('TOOMANYREQUESTS');
    const retryAfter = Number(refused?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect((await start('bob')).status).toBe(202);
  });

  it('refuses sessions past the total cap, whoever asks', async () => {
    expect((await start('bob')).status).toBe(202);
    expect((await start('bob')).status).toBe(202);
    const refused = await start('carol');
    expect(refused.status).toBe(429);
    expect(await codeOf(refused)).toBe('TOOMANYREQUESTS');
  });

  it('holds no file open for an idle session', async () => {
    expect(await openFilesUnder(join(dtr.directory, 'blobs'))).toBe(0);
  });

  it('ends idle sessions and removes their bytes, freeing the caps', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2100));
    // The periodic sweep (or this one) ends them.
    await dtr.services.uploads.sweep();
    expect(await readdir(join(dtr.directory, 'blobs', 'tmp'))).toEqual([]);
    const again = await start('carol');
    expect(again.status).toBe(202);
    const location = again.headers.get('location') as string;
    expect(
      (await dtr.fetch(location, { authorization: bearers.get('carol') as string })).status,
    ).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await dtr.services.uploads.sweep();
    const gone = await dtr.fetch(location, { authorization: bearers.get('carol') as string });
    expect(gone.status).toBe(404);
    expect(await codeOf(gone)).toBe('BLOB_UPLOAD_UNKNOWN');
  });
});

describe('upload sessions survive a restart', () => {
  let dtr: RunningDtr;
  let alice: string;

  beforeAll(async () => {
    dtr = await startDtr();
    alice = await dtr.createUser('alice');
  });
  afterAll(async () => dtr.close());

  it('continues an upload after DTR restarted, and commits exactly the bytes sent', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 5);
    const { bearer, location } = await startSession(dtr, alice, 'alice/app');
    const first = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: bearer,
      headers: { 'Content-Range': `0-${2 * 1024 * 1024 - 1}` },
      body: content.subarray(0, 2 * 1024 * 1024),
    });
    expect(first.status).toBe(202);

    await dtr.restart();
    const status = await dtr.fetch(location, { authorization: bearer });
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${2 * 1024 * 1024 - 1}`);
    const rest = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: bearer,
      headers: { 'Content-Range': `${2 * 1024 * 1024}-${content.length - 1}` },
      body: content.subarray(2 * 1024 * 1024),
    });
    expect(rest.status).toBe(202);
    const digest = Digest.of(content);
    const done = await dtr.fetch(`${location}?digest=${digest}`, {
      method: 'PUT',
      authorization: bearer,
    });
    expect(done.status).toBe(201);
    const pulled = await dtr.fetch(`/v2/alice/app/blobs/${digest}`, { authorization: bearer });
    expect(Buffer.from(await pulled.arrayBuffer()).equals(content)).toBe(true);
    expect(await readdir(join(dtr.directory, 'blobs', 'tmp'))).toEqual([]);
  });

  it('fails cleanly when a session lost its bytes: 404, and nothing half-written is kept', async () => {
    const { bearer, location } = await startSession(dtr, alice, 'alice/app');
    await dtr.fetch(location, { method: 'PATCH', authorization: bearer, body: 'some bytes' });
    await rm(join(dtr.directory, 'blobs', 'tmp'), { recursive: true, force: true });
    const lost = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: bearer,
      body: 'more bytes',
    });
    expect(lost.status).toBe(404);
    expect(await codeOf(lost)).toBe('BLOB_UPLOAD_UNKNOWN');
    expect((await dtr.fetch(location, { authorization: bearer })).status).toBe(404);
  });
});

describe('storage quotas', () => {
  let dtr: RunningDtr;
  let admin: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    dtr = await startDtr('quota: { default: 10000 }');
    admin = basic(ADMIN.username, ADMIN.password);
    alice = await dtr.createUser('alice');
    bob = await dtr.createUser('bob');
  });
  afterAll(async () => dtr.close());

  const quota = async (name: string) =>
    (await (
      await dtr.fetch(`/api/v0/accounts/${name}/quota`, { authorization: admin })
    ).json()) as {
      limitBytes: number | null;
      source: string;
      usedBytes: number;
    };

  const pushMonolithic = async (repository: string, content: Buffer, authorization: string) => {
    const bearer = `Bearer ${await dtr.token([`repository:${repository}:pull,push`], authorization)}`;
    return dtr.fetch(`/v2/${repository}/blobs/uploads/?digest=${Digest.of(content)}`, {
      method: 'POST',
      authorization: bearer,
      body: content,
    });
  };

  it('refuses a push past the quota with DENIED before its bytes are kept', async () => {
    const first = randomBytes(6000);
    expect((await pushMonolithic('alice/app', first, alice)).status).toBe(201);
    expect(await quota('alice')).toEqual({
      namespace: 'alice',
      limitBytes: 10000,
      source: 'default',
      usedBytes: 6000,
    });
    const second = randomBytes(6000);
    const refused = await pushMonolithic('alice/app', second, alice);
    expect(refused.status).toBe(403);
    const error = ((await refused.json()) as { errors: Array<{ code: string; message: string }> })
      .errors[0];
    expect(error?.code).toBe('DENIED');
    expect(error?.message).toMatch(/storage quota of "alice" exceeded: 6000 of 10000 bytes used/);
    expect(await dtr.services.blobs.stat(Digest.of(second))).toBeUndefined();
    expect((await quota('alice')).usedBytes).toBe(6000);
    // The same bytes again take no more room.
    expect((await pushMonolithic('alice/other', first, alice)).status).toBe(201);
    expect((await quota('alice')).usedBytes).toBe(6000);
  });

  it('ends a chunked upload whose bytes pass the quota mid-way, keeping nothing', async () => {
    const { bearer, location } = await startSession(dtr, alice, 'alice/app');
    const ok = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: bearer,
      body: randomBytes(3000),
    });
    expect(ok.status).toBe(202);
    expect((await quota('alice')).usedBytes).toBe(9000);
    // No Content-Length (chunked): the quota is found passed while the bytes arrive.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(randomBytes(1500));
        controller.enqueue(randomBytes(1500));
        controller.close();
      },
    });
    const over = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: bearer,
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(over.status).toBe(403);
    expect((await dtr.fetch(location, { authorization: bearer })).status).toBe(404);
    expect((await quota('alice')).usedBytes).toBe(6000);
    expect(await readdir(join(dtr.directory, 'blobs', 'tmp'))).toEqual([]);
  });

  it('refuses a mount and a manifest past the quota', async () => {
    const layer = randomBytes(5000);
    expect((await pushMonolithic('bob/big', layer, bob)).status).toBe(201);
    expect(
      (
        await dtr.fetch('/api/v0/repositories/bob/big', {
          ...json('PATCH', { visibility: 'public' }),
          authorization: bob,
        })
      ).status,
    ).toBe(200);
    const bearer = `Bearer ${await dtr.token(['repository:alice/app:pull,push', 'repository:bob/big:pull'], alice)}`;
    const mount = await dtr.fetch(
      `/v2/alice/app/blobs/uploads/?mount=${Digest.of(layer)}&from=bob/big`,
      { method: 'POST', authorization: bearer },
    );
    expect(mount.status).toBe(403);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [],
        annotations: { padding: 'x'.repeat(5000) },
      }),
    );
    const put = await dtr.fetch('/v2/alice/app/manifests/latest', {
      method: 'PUT',
      authorization: bearer,
      headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
      body: manifest,
    });
    expect(put.status).toBe(403);
    expect(await codeOf(put)).toBe('DENIED');
  });

  it('lets administrators override the quota per account, and only them', async () => {
    const byAlice = await dtr.fetch('/api/v0/accounts/alice/quota', {
      ...json('PUT', { limitBytes: null }),
      authorization: alice,
    });
    expect(byAlice.status).toBe(403);
    expect((await dtr.fetch('/api/v0/accounts/bob/quota', { authorization: alice })).status).toBe(
      403,
    );
    const bad = await dtr.fetch('/api/v0/accounts/alice/quota', {
      ...json('PUT', { limitBytes: -1 }),
      authorization: admin,
    });
    expect(bad.status).toBe(400);
    const unlimited = await dtr.fetch('/api/v0/accounts/alice/quota', {
      ...json('PUT', { limitBytes: null }),
      authorization: admin,
    });
    expect(await unlimited.json()).toMatchObject({ limitBytes: null, source: 'account' });
    expect((await pushMonolithic('alice/app', randomBytes(20_000), alice)).status).toBe(201);
    const back = await dtr.fetch('/api/v0/accounts/alice/quota', {
      method: 'DELETE',
      authorization: admin,
    });
    expect(await back.json()).toMatchObject({ limitBytes: 10000, source: 'default' });
    expect((await pushMonolithic('alice/app', randomBytes(10), alice)).status).toBe(403);
  });
});

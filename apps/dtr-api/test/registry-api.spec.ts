import { randomBytes } from 'node:crypto';
import { Digest, MediaTypes, parseBearerChallenge } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;
let alice: string;
let aliceBearer: string;
const repository = 'alice/app';

beforeAll(async () => {
  dtr = await startDtr();
  alice = await dtr.createUser('alice');
  aliceBearer = `Bearer ${await dtr.token([`repository:${repository}:pull,push,delete`], alice)}`;
});
afterAll(async () => dtr.close());

async function errorOf(response: Response): Promise<{ code: string; detail?: unknown }> {
  const body = (await response.json()) as { errors: Array<{ code: string; detail?: unknown }> };
  return body.errors[0] as { code: string; detail?: unknown };
}

function imageManifest(
  config: { digest: Digest; size: number },
  layers: Array<{ digest: Digest; size: number }>,
) {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: {
      mediaType: MediaTypes.ociConfig,
      digest: config.digest.toString(),
      size: config.size,
    },
    layers: layers.map((layer) => ({
      mediaType: MediaTypes.ociLayerGzip,
      digest: layer.digest.toString(),
      size: layer.size,
    })),
  });
}

async function putManifest(
  name: string,
  reference: string,
  body: string,
  mediaType: string = MediaTypes.ociManifest,
  authorization = aliceBearer,
) {
  return dtr.fetch(`/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    authorization,
    headers: { 'Content-Type': mediaType },
    body,
  });
}

describe('GET /v2/', () => {
  it('challenges anonymous clients with Bearer and the API version', async () => {
    const response = await dtr.fetch('/v2/');
    expect(response.status).toBe(401);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(parseBearerChallenge(response.headers.get('www-authenticate') ?? '')).toEqual({
      realm: `${dtr.url}/auth/token`,
      service: 'dtr',
    });
    expect(await errorOf(response)).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('answers 200 with a token, anonymous or not', async () => {
    expect(
      (await dtr.fetch('/v2/', { authorization: `Bearer ${await dtr.token([])}` })).status,
    ).toBe(200);
    expect((await dtr.fetch('/v2/', { authorization: aliceBearer })).status).toBe(200);
  });

  it('refuses a forged or garbage token', async () => {
    const response = await dtr.fetch('/v2/', { authorization: 'Bearer not.a.token' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('blobs', () => {
  const content = randomBytes(300_000);
  let digest: Digest;

  beforeAll(async () => {
    digest = await dtr.pushBlob(repository, content, alice);
  });

  it('serves a blob with length, digest and ETag, and HEAD without body', async () => {
    const response = await dtr.fetch(`/v2/${repository}/blobs/${digest}`, {
      authorization: aliceBearer,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(content.length));
    expect(response.headers.get('docker-content-digest')).toBe(digest.toString());
    expect(response.headers.get('etag')).toBe(`"${digest}"`);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    const head = await dtr.fetch(`/v2/${repository}/blobs/${digest}`, {
      method: 'HEAD',
      authorization: aliceBearer,
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(content.length));
    expect(await head.text()).toBe('');
  });

  it('serves single ranges (206) and refuses unsatisfiable ones (416)', async () => {
    const partial = await dtr.fetch(`/v2/${repository}/blobs/${digest}`, {
      authorization: aliceBearer,
      headers: { Range: 'bytes=100-199' },
    });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 100-199/${content.length}`);
    expect(Buffer.from(await partial.arrayBuffer()).equals(content.subarray(100, 200))).toBe(true);
    const beyond = await dtr.fetch(`/v2/${repository}/blobs/${digest}`, {
      authorization: aliceBearer,
      headers: { Range: `bytes=${content.length}-` },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${content.length}`);
    expect(await errorOf(beyond)).toMatchObject({ code: 'RANGE_INVALID' });
  });

  it('answers 304 to If-None-Match with the digest', async () => {
    const response = await dtr.fetch(`/v2/${repository}/blobs/${digest}`, {
      authorization: aliceBearer,
      headers: { 'If-None-Match': `"${digest}"` },
    });
    expect(response.status).toBe(304);
  });

  it('answers BLOB_UNKNOWN, DIGEST_INVALID and NAME_INVALID', async () => {
    const unknown = await dtr.fetch(`/v2/${repository}/blobs/${Digest.of('nothing')}`, {
      authorization: aliceBearer,
    });
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toMatchObject({ code: 'BLOB_UNKNOWN' });
    const badDigest = await dtr.fetch(`/v2/${repository}/blobs/sha256:abc`, {
      authorization: aliceBearer,
    });
    expect(badDigest.status).toBe(400);
    expect(await errorOf(badDigest)).toMatchObject({ code: 'DIGEST_INVALID' });
    const badName = await dtr.fetch(`/v2/Alice/App/blobs/${digest}`, {
      authorization: aliceBearer,
    });
    expect(badName.status).toBe(400);
    expect(await errorOf(badName)).toMatchObject({ code: 'NAME_INVALID' });
  });

  it('does not serve a digest known from another repository (no cross-repository guessing)', async () => {
    const bob = await dtr.createUser('bob');
    const bobBearer = `Bearer ${await dtr.token(['repository:bob/other:pull,push'], bob)}`;
    await dtr.pushBlob('bob/other', Buffer.from('bob layer'), bob);
    const guess = await dtr.fetch(`/v2/bob/other/blobs/${digest}`, { authorization: bobBearer });
    expect(guess.status).toBe(404);
    expect(await errorOf(guess)).toMatchObject({ code: 'BLOB_UNKNOWN' });
  });

  it('unlinks a blob on DELETE', async () => {
    const other = await dtr.pushBlob(repository, Buffer.from('to delete'), alice);
    const deleter = `Bearer ${await dtr.token([`repository:${repository}:delete`], alice)}`;
    const deleted = await dtr.fetch(`/v2/${repository}/blobs/${other}`, {
      method: 'DELETE',
      authorization: deleter,
    });
    expect(deleted.status).toBe(202);
    expect(
      (await dtr.fetch(`/v2/${repository}/blobs/${other}`, { authorization: aliceBearer })).status,
    ).toBe(404);
  });
});

describe('uploads', () => {
  /** Starts an upload session in the repository; returns its Location. */
  async function startUpload(): Promise<string> {
    const started = await dtr.fetch(`/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
      authorization: aliceBearer,
    });
    expect(started.status).toBe(202);
    return started.headers.get('location') as string;
  }

  it('takes a chunked upload: POST, PATCH…, status, PUT', async () => {
    const content = randomBytes(250_000);
    const digest = Digest.of(content);
    const started = await dtr.fetch(`/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
      authorization: aliceBearer,
    });
    expect(started.status).toBe(202);
    const location = started.headers.get('location') as string;
    expect(location).toMatch(new RegExp(`^/v2/${repository}/blobs/uploads/[A-Za-z0-9_-]+$`));
    expect(started.headers.get('docker-upload-uuid')).toBe(location.split('/').at(-1));

    const first = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: aliceBearer,
      headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' },
      body: content.subarray(0, 100_000),
    });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-99999');
    const second = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: aliceBearer,
      body: content.subarray(100_000, 200_000),
    });
    expect(second.headers.get('range')).toBe('0-199999');
    const status = await dtr.fetch(location, { authorization: aliceBearer });
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-199999');

    const finished = await dtr.fetch(`${location}?digest=${digest}`, {
      method: 'PUT',
      authorization: aliceBearer,
      body: content.subarray(200_000),
    });
    expect(finished.status).toBe(201);
    expect(finished.headers.get('location')).toBe(`/v2/${repository}/blobs/${digest}`);
    expect(finished.headers.get('docker-content-digest')).toBe(digest.toString());
    const pulled = await dtr.fetch(`/v2/${repository}/blobs/${digest}`, {
      authorization: aliceBearer,
    });
    expect(Buffer.from(await pulled.arrayBuffer()).equals(content)).toBe(true);
    expect((await dtr.fetch(location, { authorization: aliceBearer })).status).toBe(404);
  });

  it('refuses a chunk that does not start where the upload stands (416)', async () => {
    const location = await startUpload();
    const response = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: aliceBearer,
      headers: { 'Content-Range': '10-19' },
      body: Buffer.alloc(10),
    });
    expect(response.status).toBe(416);
    expect(await errorOf(response)).toMatchObject({ code: 'RANGE_INVALID' });
  });

  it('refuses a chunk whose Content-Range disagrees with its length', async () => {
    const location = await startUpload();
    const response = await dtr.fetch(location, {
      method: 'PATCH',
      authorization: aliceBearer,
      headers: { 'Content-Range': '0-99' },
      body: Buffer.alloc(10),
    });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: 'SIZE_INVALID' });
  });

  it('keeps nothing on a digest mismatch (DIGEST_INVALID)', async () => {
    const content = Buffer.from('actual content');
    const claimed = Digest.of('claimed content');
    const response = await dtr.fetch(`/v2/${repository}/blobs/uploads/?digest=${claimed}`, {
      method: 'POST',
      authorization: aliceBearer,
      body: content,
    });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: 'DIGEST_INVALID' });
    expect(await dtr.services.blobs.stat(claimed)).toBeUndefined();
    expect(await dtr.services.blobs.stat(Digest.of(content))).toBeUndefined();
  });

  it('requires a digest to finish, and a valid one', async () => {
    const location = await startUpload();
    const missing = await dtr.fetch(location, { method: 'PUT', authorization: aliceBearer });
    expect(missing.status).toBe(400);
    expect(await errorOf(missing)).toMatchObject({ code: 'DIGEST_INVALID' });
    const bad = await dtr.fetch(`${location}?digest=sha256:zz`, {
      method: 'PUT',
      authorization: aliceBearer,
    });
    expect(await errorOf(bad)).toMatchObject({ code: 'DIGEST_INVALID' });
  });

  it('answers BLOB_UPLOAD_UNKNOWN for unknown, cancelled and foreign uploads', async () => {
    const unknown = await dtr.fetch(`/v2/${repository}/blobs/uploads/doesnotexist`, {
      authorization: aliceBearer,
    });
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
    const location = await startUpload();
    const id = location.split('/').at(-1);
    const otherBearer = `Bearer ${await dtr.token(['repository:alice/second:pull,push'], alice)}`;
    const foreign = await dtr.fetch(`/v2/alice/second/blobs/uploads/${id}`, {
      authorization: otherBearer,
    });
    expect(await errorOf(foreign)).toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
    expect(
      (await dtr.fetch(location, { method: 'DELETE', authorization: aliceBearer })).status,
    ).toBe(204);
    expect((await dtr.fetch(location, { authorization: aliceBearer })).status).toBe(404);
  });

  it('mounts a blob across repositories only with pull access to the source', async () => {
    const digest = await dtr.pushBlob(repository, Buffer.from('shared layer'), alice);
    const bearer = `Bearer ${await dtr.token(['repository:alice/mounted:pull,push', `repository:${repository}:pull`], alice)}`;
    const mounted = await dtr.fetch(
      `/v2/alice/mounted/blobs/uploads/?mount=${digest}&from=${repository}`,
      { method: 'POST', authorization: bearer },
    );
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('docker-content-digest')).toBe(digest.toString());
    expect(
      (await dtr.fetch(`/v2/alice/mounted/blobs/${digest}`, { authorization: bearer })).status,
    ).toBe(200);

    const carol = await dtr.createUser('carol');
    const carolBearer = `Bearer ${await dtr.token(['repository:carol/mine:pull,push', `repository:${repository}:pull`], carol)}`;
    const refused = await dtr.fetch(
      `/v2/carol/mine/blobs/uploads/?mount=${digest}&from=${repository}`,
      { method: 'POST', authorization: carolBearer },
    );
    expect(refused.status).toBe(202);
    expect(
      (await dtr.fetch(`/v2/carol/mine/blobs/${digest}`, { authorization: carolBearer })).status,
    ).toBe(404);
  });
});

describe('manifests and tags', () => {
  let config: { digest: Digest; size: number };
  let layer: { digest: Digest; size: number };

  beforeAll(async () => {
    const configBytes = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layerBytes = randomBytes(5000);
    config = {
      digest: await dtr.pushBlob(repository, configBytes, alice),
      size: configBytes.length,
    };
    layer = { digest: await dtr.pushBlob(repository, layerBytes, alice), size: layerBytes.length };
  });

  it('stores a manifest by tag and serves it by tag and digest, GET and HEAD', async () => {
    const body = imageManifest(config, [layer]);
    const digest = Digest.of(body);
    const put = await putManifest(repository, 'v1', body);
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digest.toString());
    expect(put.headers.get('location')).toBe(`/v2/${repository}/manifests/${digest}`);
    for (const reference of ['v1', digest.toString()]) {
      const got = await dtr.fetch(`/v2/${repository}/manifests/${reference}`, {
        authorization: aliceBearer,
        headers: { Accept: MediaTypes.ociManifest },
      });
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe(MediaTypes.ociManifest);
      expect(got.headers.get('docker-content-digest')).toBe(digest.toString());
      expect(await got.text()).toBe(body);
    }
    const head = await dtr.fetch(`/v2/${repository}/manifests/v1`, {
      method: 'HEAD',
      authorization: aliceBearer,
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
  });

  it('refuses a manifest whose blobs are not in the repository (MANIFEST_BLOB_UNKNOWN)', async () => {
    const foreign = { digest: Digest.of('never pushed here'), size: 17 };
    const response = await putManifest(repository, 'broken', imageManifest(config, [foreign]));
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({
      code: 'MANIFEST_BLOB_UNKNOWN',
      detail: { digest: foreign.digest.toString() },
    });
  });

  it('stores an index whose children exist and refuses one with a missing child (MANIFEST_UNKNOWN)', async () => {
    const child = imageManifest(config, [layer]);
    const childDigest = Digest.of(child);
    const index = (digest: Digest) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [{ mediaType: MediaTypes.ociManifest, digest: digest.toString(), size: 10 }],
      });
    expect(
      (await putManifest(repository, 'multi', index(childDigest), MediaTypes.ociIndex)).status,
    ).toBe(201);
    const missing = await putManifest(
      repository,
      'multi-broken',
      index(Digest.of('absent')),
      MediaTypes.ociIndex,
    );
    expect(missing.status).toBe(404);
    expect(await errorOf(missing)).toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });

  it('negotiates on Accept: an index is not served to a client that only accepts image manifests', async () => {
    const response = await dtr.fetch(`/v2/${repository}/manifests/multi`, {
      authorization: aliceBearer,
      headers: { Accept: MediaTypes.dockerManifest },
    });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });

  it('stores Docker schema 2 manifests and lists', async () => {
    const docker = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifest,
      config: {
        mediaType: MediaTypes.dockerContainerConfig,
        digest: config.digest.toString(),
        size: config.size,
      },
      layers: [
        { mediaType: MediaTypes.dockerLayer, digest: layer.digest.toString(), size: layer.size },
      ],
    });
    expect(
      (await putManifest(repository, 'docker', docker, MediaTypes.dockerManifest)).status,
    ).toBe(201);
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.dockerManifestList,
      manifests: [
        {
          mediaType: MediaTypes.dockerManifest,
          digest: Digest.of(docker).toString(),
          size: docker.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    });
    expect(
      (await putManifest(repository, 'docker-list', list, MediaTypes.dockerManifestList)).status,
    ).toBe(201);
  });

  it('refuses invalid manifests', async () => {
    for (const [body, type] of [
      ['not json', MediaTypes.ociManifest],
      ['{"schemaVersion":2}', 'application/x-unknown'],
      ['{"schemaVersion":1,"layers":[]}', MediaTypes.ociManifest],
      [
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.dockerManifest,
          config: {},
          layers: [],
        }),
        MediaTypes.ociManifest,
      ],
    ] as const) {
      const response = await putManifest(repository, 'invalid', body, type);
      expect(response.status, body).toBe(400);
      expect((await errorOf(response)).code, body).toBe('MANIFEST_INVALID');
    }
  });

  it('refuses a manifest whose digest does not match the reference', async () => {
    const response = await putManifest(
      repository,
      Digest.of('other').toString(),
      imageManifest(config, [layer]),
    );
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: 'DIGEST_INVALID' });
  });

  it('answers MANIFEST_UNKNOWN and TAG_INVALID', async () => {
    const unknown = await dtr.fetch(`/v2/${repository}/manifests/nope`, {
      authorization: aliceBearer,
    });
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    const invalid = await dtr.fetch(`/v2/${repository}/manifests/-bad`, {
      authorization: aliceBearer,
    });
    expect(await errorOf(invalid)).toMatchObject({ code: 'TAG_INVALID' });
  });

  it('lists tags with n/last pagination and a Link header', async () => {
    const pagedBearer = `Bearer ${await dtr.token(['repository:alice/paged:pull,push'], alice)}`;
    await dtr.pushBlob('alice/paged', Buffer.from('{"architecture":"amd64","os":"linux"}'), alice);
    const paged = {
      digest: await dtr.pushBlob('alice/paged', Buffer.from('layer'), alice),
      size: 5,
    };
    const pagedManifest = imageManifest(config, [paged]);
    for (const tag of ['c', 'a', 'b'])
      expect(
        (await putManifest('alice/paged', tag, pagedManifest, MediaTypes.ociManifest, pagedBearer))
          .status,
      ).toBe(201);
    const first = await dtr.fetch('/v2/alice/paged/tags/list?n=2', { authorization: pagedBearer });
    expect(await first.json()).toEqual({ name: 'alice/paged', tags: ['a', 'b'] });
    expect(first.headers.get('link')).toBe('</v2/alice/paged/tags/list?n=2&last=b>; rel="next"');
    const second = await dtr.fetch('/v2/alice/paged/tags/list?n=2&last=b', {
      authorization: pagedBearer,
    });
    expect(await second.json()).toEqual({ name: 'alice/paged', tags: ['c'] });
    expect(second.headers.get('link')).toBeNull();
    const bad = await dtr.fetch('/v2/alice/paged/tags/list?n=-1', { authorization: pagedBearer });
    expect(await errorOf(bad)).toMatchObject({ code: 'PAGINATION_NUMBER_INVALID' });
  });

  it('deletes a tag, then the manifest by digest', async () => {
    // A token issued once the repository exists carries the delete action.
    const deleter = `Bearer ${await dtr.token([`repository:${repository}:pull,push,delete`], alice)}`;
    const body = imageManifest(config, [layer]);
    await putManifest(repository, 'doomed', body);
    expect(
      (
        await dtr.fetch(`/v2/${repository}/manifests/doomed`, {
          method: 'DELETE',
          authorization: deleter,
        })
      ).status,
    ).toBe(202);
    expect(
      (await dtr.fetch(`/v2/${repository}/manifests/doomed`, { authorization: aliceBearer }))
        .status,
    ).toBe(404);
    expect(
      (
        await dtr.fetch(`/v2/${repository}/manifests/${Digest.of(body)}`, {
          method: 'DELETE',
          authorization: deleter,
        })
      ).status,
    ).toBe(202);
    expect(
      (await dtr.fetch(`/v2/${repository}/manifests/v1`, { authorization: aliceBearer })).status,
    ).toBe(404);
  });
});

describe('catalog', () => {
  it('lists repositories for administrators only', async () => {
    const adminBearer = `Bearer ${await dtr.token(['registry:catalog:*'], basic(ADMIN.username, ADMIN.password))}`;
    const response = await dtr.fetch('/v2/_catalog?n=100', { authorization: adminBearer });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { repositories: string[] }).repositories).toContain(
      repository,
    );
    const aliceCatalog = `Bearer ${await dtr.token(['registry:catalog:*'], alice)}`;
    const refused = await dtr.fetch('/v2/_catalog', { authorization: aliceCatalog });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });
});

describe('methods and paths', () => {
  it('answers UNSUPPORTED for a method a route does not serve, NOT_FOUND off the API', async () => {
    const response = await dtr.fetch(`/v2/${repository}/tags/list`, {
      method: 'DELETE',
      authorization: aliceBearer,
    });
    expect(response.status).toBe(405);
    expect(await errorOf(response)).toMatchObject({ code: 'UNSUPPORTED' });
    const notFound = await dtr.fetch('/v2/alice/app/nothing/here', { authorization: aliceBearer });
    expect(notFound.status).toBe(404);
  });
});

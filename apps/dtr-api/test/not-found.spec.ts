/**
 * Not found, precisely (distribution-spec): who may pull a name learns that a repository, manifest
 * or blob is missing (404 with its code) through tokens and Basic alike; who may not cannot tell a
 * private repository from a missing one. And a cross-repository mount's challenge names the pull
 * on its source, so a token for exactly the challenged scopes mounts (201).
 */
import { Digest, parseBearerChallenge } from '@dtr-cache/registry-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, basic, type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;
let alice: string;
let bob: string;
let layer: Digest;

beforeAll(async () => {
  dtr = await startDtr();
  alice = await dtr.createUser('alice');
  bob = await dtr.createUser('bob');
  layer = await dtr.pushBlob('alice/app', Buffer.from('a layer of alice/app'), alice);
});
afterAll(async () => dtr.close());

/** Requests `path` with a token for `scope` obtained with `basicHeader`, as a client does. */
async function withToken(path: string, scope: string, basicHeader: string, method = 'GET') {
  const bearer = `Bearer ${await dtr.token([scope], basicHeader)}`;
  return dtr.fetch(path, { method, authorization: bearer });
}

async function codeOf(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { errors: Array<{ code: string }> }).errors[0]?.code;
}

const missingDigest = Digest.of('never pushed').toString();

describe('a caller who may pull a name', () => {
  it.each([
    ['a missing repository (manifest)', 'alice/missing', '/manifests/v1', 'NAME_UNKNOWN'],
    ['a missing repository (tags)', 'alice/missing', '/tags/list', 'NAME_UNKNOWN'],
    ['a missing repository (blob)', 'alice/missing', `/blobs/${missingDigest}`, 'NAME_UNKNOWN'],
    ['a missing manifest', 'alice/app', '/manifests/v9', 'MANIFEST_UNKNOWN'],
    ['a missing blob', 'alice/app', `/blobs/${missingDigest}`, 'BLOB_UNKNOWN'],
  ])('gets 404 for %s through a token and through Basic', async (_, name, suffix, code) => {
    const path = `/v2/${name}${suffix}`;
    const viaToken = await withToken(path, `repository:${name}:pull`, alice);
    expect(viaToken.status).toBe(404);
    expect(await codeOf(viaToken)).toBe(code);
    const viaBasic = await dtr.fetch(path, { authorization: alice });
    expect(viaBasic.status).toBe(404);
    expect(await codeOf(viaBasic)).toBe(code);
  });

  it('as an administrator, too', async () => {
    const admin = basic(ADMIN.username, ADMIN.password);
    const answer = await withToken(
      '/v2/alice/missing/manifests/v1',
      'repository:alice/missing:pull',
      admin,
    );
    expect(answer.status).toBe(404);
    expect(await codeOf(answer)).toBe('NAME_UNKNOWN');
  });

  it('gets 404 deleting a manifest of a missing repository, on both paths', async () => {
    const path = `/v2/alice/missing/manifests/${missingDigest}`;
    const viaToken = await withToken(path, 'repository:alice/missing:delete', alice, 'DELETE');
    expect(viaToken.status).toBe(404);
    const viaBasic = await dtr.fetch(path, { method: 'DELETE', authorization: alice });
    expect(viaBasic.status).toBe(404);
  });
});

describe('a caller who may not pull a name', () => {
  it('gets the same answer for a private repository and a missing one, on both paths', async () => {
    const answers = async (name: string) => {
      const path = `/v2/${name}/manifests/v1`;
      const viaToken = await withToken(path, `repository:${name}:pull`, bob);
      const viaBasic = await dtr.fetch(path, { authorization: bob });
      return {
        token: [viaToken.status, await codeOf(viaToken)],
        basic: [viaBasic.status, await codeOf(viaBasic)],
      };
    };
    const existing = await answers('alice/app');
    expect(existing).toEqual(await answers('alice/missing'));
    expect(existing).toEqual({ token: [401, 'UNAUTHORIZED'], basic: [403, 'DENIED'] });
    // A namespace that does not exist either.
    expect(await answers('nobody/missing')).toEqual(existing);
  });
});

describe('a cross-repository mount', () => {
  it('is challenged for pull on its source beside push on its target, and mounts with that token', async () => {
    const path = `/v2/alice/copy/blobs/uploads/?mount=${layer}&from=alice/app`;
    const challenged = await dtr.fetch(path, { method: 'POST' });
    expect(challenged.status).toBe(401);
    const challenge = parseBearerChallenge(challenged.headers.get('www-authenticate') ?? '');
    const scopes = (challenge?.scope ?? '').split(' ');
    expect(scopes.sort()).toEqual(['repository:alice/app:pull', 'repository:alice/copy:push']);
    // Exactly the challenged scopes, as docker and containerd ask.
    const bearer = `Bearer ${await dtr.token(scopes, alice)}`;
    const mounted = await dtr.fetch(path, { method: 'POST', authorization: bearer });
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('docker-content-digest')).toBe(layer.toString());
  });

  it('falls back to an upload (202) when the token lacks pull on the source', async () => {
    const bearer = `Bearer ${await dtr.token(['repository:bob/copy:push', 'repository:alice/app:pull'], bob)}`;
    const answer = await dtr.fetch(`/v2/bob/copy/blobs/uploads/?mount=${layer}&from=alice/app`, {
      method: 'POST',
      authorization: bearer,
    });
    expect(answer.status).toBe(202);
  });
});

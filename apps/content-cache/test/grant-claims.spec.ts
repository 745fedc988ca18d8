import { randomBytes } from 'node:crypto';
import { BLOB_GRANT_TYPE, type Digest } from '@dtr-cache/registry-protocol';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCache, startCache } from './cache-harness';
import { StandInOrigin } from './stand-in-origin';

const repository = 'alice/app';
let origin: StandInOrigin;
let cache: RunningCache;

beforeAll(async () => {
  origin = await StandInOrigin.start();
  cache = await startCache({ upstreams: [origin.url] });
});
afterAll(async () => {
  await cache.close();
  await origin.close();
});

/** A token signed with the origin's own grant key, with claims of our choosing. */
function signed(digest: Digest, claims: Record<string, unknown>, audience?: string) {
  const seconds = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    repository,
    digest: digest.toString(),
    iss: 'dtr',
    sub: 'alice',
    uid: 7,
    gen: 1,
    iat: seconds,
    exp: seconds + 60,
    ...claims,
  }).setProtectedHeader({ alg: 'EdDSA', kid: origin.key.keyId, typ: BLOB_GRANT_TYPE });
  if (audience !== undefined) jwt.setAudience(audience);
  return jwt.sign(origin.key.privateKey);
}

async function refusal(digest: Digest, grant: string) {
  const response = await fetch(`${cache.url}/v2/${repository}/blobs/${digest}?grant=${grant}`);
  const body = (await response.json()) as {
    errors: Array<{ code: string; detail?: { reason?: string } }>;
  };
  return {
    status: response.status,
    code: body.errors[0]?.code,
    reason: body.errors[0]?.detail?.reason,
  };
}

describe('grant claims at a cache', () => {
  it('serves a grant with the issuer its upstream names and the blob-grant audience', async () => {
    const digest = origin.add(randomBytes(100));
    const response = await fetch(
      `${cache.url}/v2/${repository}/blobs/${digest}?grant=${await origin.grant(repository, digest)}`,
    );
    expect(response.status).toBe(200);
  });

  it('refuses another issuer, a missing or other audience, and time claims out of range', async () => {
    const digest = origin.add(randomBytes(100));
    const cases: Array<[string, string, string]> = [
      ['another issuer', await origin.grant(repository, digest, { issuer: 'not-dtr' }), 'issuer'],
      ['no audience', await signed(digest, {}), 'audience'],
      ['another audience', await signed(digest, {}, 'dtr'), 'audience'],
      [
        'never expires',
        await signed(digest, { iat: 1e308, exp: 1e308 }, 'dtr-blob-grant'),
        'malformed',
      ],
      [
        'issued in the far future',
        await signed(
          digest,
          {
            iat: Math.floor(Date.now() / 1000) + 3e8,
            exp: Math.floor(Date.now() / 1000) + 3e8 + 60,
          },
          'dtr-blob-grant',
        ),
        'not-yet-valid',
      ],
    ];
    for (const [label, grant, reason] of cases) {
      expect(await refusal(digest, grant), label).toEqual({
        status: 401,
        code: 'UNAUTHORIZED',
        reason,
      });
    }
    expect(origin.blobGets(digest)).toBe(0);
  });

  it('is not ready while its upstream does not name the issuer of its grants', async () => {
    const other = await StandInOrigin.start();
    other.keysIssuer = undefined;
    const unready = await startCache({ upstreams: [other.url] });
    try {
      expect((await fetch(`${unready.url}/health`)).status).toBe(503);
      const digest = other.add(randomBytes(10));
      const response = await fetch(
        `${unready.url}/v2/${repository}/blobs/${digest}?grant=${await other.grant(repository, digest)}`,
      );
      expect(response.status).toBe(503);
      expect(other.blobGets(digest)).toBe(0);
    } finally {
      await unready.close();
      await other.close();
    }
  });
});

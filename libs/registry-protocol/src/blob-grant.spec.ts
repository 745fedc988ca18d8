import { createHmac, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BLOB_GRANT_AUDIENCE,
  BLOB_GRANT_TYPE,
  BlobGrantVerifier,
  exportGrantSigningKey,
  generateGrantSigningKey,
  type GrantSigningKey,
  importGrantSigningKey,
  signBlobGrant,
} from './blob-grant';
import { Digest } from './digest';

const repository = 'team/app';
const digest = Digest.of('layer bytes');
const now = new Date('2026-11-23T12:00:00Z');

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

describe('blob grants', () => {
  let key: GrantSigningKey;
  let otherKey: GrantSigningKey;
  let verifier: BlobGrantVerifier;

  beforeAll(async () => {
    key = await generateGrantSigningKey();
    otherKey = await generateGrantSigningKey();
    verifier = new BlobGrantVerifier({ keys: [key.publicKey] }, { issuer: 'dtr' });
  });

  const grant = (overrides: Partial<Parameters<typeof signBlobGrant>[1]> = {}, signer = key) =>
    signBlobGrant(signer, {
      repository,
      digest,
      subject: 'alice',
      accountId: 7,
      generation: 1,
      lifetimeSeconds: 60,
      issuer: 'dtr',
      now,
      ...overrides,
    });

  /** A grant-shaped JWT built by hand, to forge what signBlobGrant never would. */
  const handMade = (options: {
    kid: string;
    typ: string;
    signer: GrantSigningKey;
    claims?: Record<string, unknown>;
    audience?: string | undefined;
  }) => {
    const seconds = Math.floor(now.getTime() / 1000);
    const jwt = new SignJWT({
      repository,
      digest: digest.toString(),
      uid: 7,
      gen: 1,
      iss: 'dtr',
      sub: 'mallory',
      iat: seconds,
      exp: seconds + 60,
      ...options.claims,
    }).setProtectedHeader({ alg: 'EdDSA', kid: options.kid, typ: options.typ });
    if (!('audience' in options)) jwt.setAudience(BLOB_GRANT_AUDIENCE);
    else if (options.audience !== undefined) jwt.setAudience(options.audience);
    return jwt.sign(options.signer.privateKey);
  };

  const expectRefused = async (
    token: string | undefined,
    reason: string,
    at = now,
    expected = { repository, digest },
  ) => {
    await expect(verifier.verify(token, expected, at)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      status: 401,
      reason,
    });
  };

  it('verifies a fresh grant and returns its claims', async () => {
    const verified = await verifier.verify(await grant(), { repository, digest }, now);
    expect(verified).toMatchObject({
      repository,
      digest: digest.toString(),
      subject: 'alice',
      accountId: 7,
      generation: 1,
      issuer: 'dtr',
      keyId: key.keyId,
    });
    expect(verified.expiresAt.getTime() - verified.issuedAt.getTime()).toBe(60_000);
  });

  it('uses the RFC 7638 thumbprint as key id and publishes only public material', () => {
    expect(key.keyId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(key.publicKey).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expect.any(String),
      kid: key.keyId,
      alg: 'EdDSA',
      use: 'sig',
    });
    expect(key.publicKey).not.toHaveProperty('d');
  });

  it('refuses an expired grant (beyond the clock tolerance)', async () => {
    const token = await grant();
    await expectRefused(token, 'expired', new Date(now.getTime() + 91_000));
    await expect(
      verifier.verify(token, { repository, digest }, new Date(now.getTime() + 80_000)),
    ).resolves.toBeDefined();
  });

  it('refuses a grant that is not yet valid', async () => {
    const token = await grant({ now: new Date(now.getTime() + 5 * 60_000) });
    await expectRefused(token, 'not-yet-valid');
  });

  it('refuses a grant for another repository or digest', async () => {
    const token = await grant();
    await expectRefused(token, 'repository', now, { repository: 'team/other', digest });
    await expectRefused(token, 'digest', now, { repository, digest: Digest.of('other layer') });
  });

  it('refuses a grant signed with an unknown key', async () => {
    await expectRefused(await grant({}, otherKey), 'unknown-key');
  });

  it('refuses a grant whose kid names a trusted key but was signed by another', async () => {
    const forged = await handMade({ kid: key.keyId, typ: BLOB_GRANT_TYPE, signer: otherKey });
    await expectRefused(forged, 'signature');
  });

  it('refuses tampered claims and signatures', async () => {
    const [header, payload, signature] = (await grant()).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tamperedPayload = base64url(JSON.stringify({ ...claims, repository: 'team/secret' }));
    await expectRefused(`${header}.${tamperedPayload}.${signature}`, 'signature', now, {
      repository: 'team/secret',
      digest,
    });
    const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    await expectRefused(`${header}.${payload}.${flipped}`, 'signature');
  });

  it('refuses any algorithm but EdDSA, including none and HMAC with the public key', async () => {
    const claims = base64url(
      JSON.stringify({
        repository,
        digest: digest.toString(),
        iss: 'dtr',
        aud: BLOB_GRANT_AUDIENCE,
        sub: 'x',
        uid: 7,
        gen: 1,
        iat: now.getTime() / 1000,
        exp: now.getTime() / 1000 + 60,
      }),
    );
    const noneHeader = base64url(
      JSON.stringify({ alg: 'none', kid: key.keyId, typ: BLOB_GRANT_TYPE }),
    );
    await expectRefused(`${noneHeader}.${claims}.`, 'algorithm');
    const hsHeader = base64url(
      JSON.stringify({ alg: 'HS256', kid: key.keyId, typ: BLOB_GRANT_TYPE }),
    );
    const mac = createHmac('sha256', key.publicKey.x)
      .update(`${hsHeader}.${claims}`)
      .digest('base64url');
    await expectRefused(`${hsHeader}.${claims}.${mac}`, 'algorithm');
  });

  it('refuses a JWT of another type signed by the same key', async () => {
    const token = await handMade({ kid: key.keyId, typ: 'JWT', signer: key });
    await expectRefused(token, 'malformed');
  });

  it('refuses a grant without the blob-grant audience, or with another one', async () => {
    const signed = (audience: string | undefined) =>
      handMade({ kid: key.keyId, typ: BLOB_GRANT_TYPE, signer: key, audience });
    await expect(
      verifier.verify(await signed(BLOB_GRANT_AUDIENCE), { repository, digest }, now),
    ).resolves.toBeDefined();
    await expectRefused(await signed(undefined), 'audience');
    await expectRefused(await signed('dtr'), 'audience');
  });

  it('refuses time claims that are not whole seconds in a sane range', async () => {
    const seconds = Math.floor(now.getTime() / 1000);
    const withClaims = (claims: Record<string, unknown>) =>
      handMade({ kid: key.keyId, typ: BLOB_GRANT_TYPE, signer: key, claims });
    // 1e308 never expires by comparison, and turns dates into NaN.
    await expectRefused(await withClaims({ iat: 1e308, exp: 1e308 }), 'malformed');
    await expectRefused(await withClaims({ iat: seconds, exp: 1e308 }), 'malformed');
    await expectRefused(await withClaims({ iat: seconds + 0.5, exp: seconds + 60 }), 'malformed');
    await expectRefused(await withClaims({ iat: seconds, exp: seconds }), 'malformed');
    await expectRefused(await withClaims({ iat: -1, exp: seconds + 60 }), 'malformed');
    await expectRefused(
      await withClaims({ iat: seconds, exp: seconds + 60, nbf: 1e308 }),
      'not-yet-valid',
    );
    // Far in the future but in range: not yet valid, whatever its lifetime says.
    const later = seconds + 10 * 365 * 86400;
    await expectRefused(await withClaims({ iat: later, exp: later + 60 }), 'not-yet-valid');
  });

  it('refuses a grant without a whole-number account id and generation', async () => {
    const withClaims = (claims: Record<string, unknown>) =>
      handMade({ kid: key.keyId, typ: BLOB_GRANT_TYPE, signer: key, claims });
    await expectRefused(await withClaims({ uid: undefined }), 'malformed');
    await expectRefused(await withClaims({ uid: '7' }), 'malformed');
    await expectRefused(await withClaims({ uid: 0 }), 'malformed');
    await expectRefused(await withClaims({ gen: 1.5 }), 'malformed');
    await expect(
      signBlobGrant(key, {
        repository,
        digest,
        subject: 'alice',
        accountId: Number.NaN,
        generation: 1,
        lifetimeSeconds: 60,
        issuer: 'dtr',
      }),
    ).rejects.toThrow(/account id/);
  });

  it('takes the issuer from the key set when none is configured, and refuses grants without one', async () => {
    const token = await grant();
    const fromKeySet = new BlobGrantVerifier({ keys: [key.publicKey], issuer: 'dtr' });
    await expect(fromKeySet.verify(token, { repository, digest }, now)).resolves.toBeDefined();
    const otherIssuer = new BlobGrantVerifier({ keys: [key.publicKey], issuer: 'other-dtr' });
    await expect(otherIssuer.verify(token, { repository, digest }, now)).rejects.toMatchObject({
      reason: 'issuer',
    });
    const noIssuer = new BlobGrantVerifier({ keys: [key.publicKey] });
    await expect(noIssuer.verify(token, { repository, digest }, now)).rejects.toMatchObject({
      reason: 'issuer',
    });
    // A remembered grant is checked against the issuer of the key set held now.
    fromKeySet.updateKeys({ keys: [key.publicKey], issuer: 'moved' });
    await expect(fromKeySet.verify(token, { repository, digest }, now)).rejects.toMatchObject({
      reason: 'issuer',
    });
  });

  it('refuses a wrong issuer, an over-long lifetime, garbage and a missing grant', async () => {
    await expectRefused(await grant({ issuer: 'someone-else' }), 'issuer');
    await expectRefused(await grant({ lifetimeSeconds: 7200 }), 'lifetime');
    await expectRefused('not.a.jwt', 'malformed');
    await expectRefused('', 'missing');
    await expectRefused(undefined, 'missing');
  });

  it('ignores keys of other types in the key set', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'ec-key' };
    const mixed = new BlobGrantVerifier({ keys: [ecJwk as never, key.publicKey], issuer: 'dtr' });
    expect(mixed.hasKey('ec-key')).toBe(false);
    expect(mixed.hasKey(key.keyId)).toBe(true);
  });

  it('accepts a rotated key after the key set is updated', async () => {
    const rotating = new BlobGrantVerifier({ keys: [key.publicKey], issuer: 'dtr' });
    const token = await grant({}, otherKey);
    await expect(rotating.verify(token, { repository, digest }, now)).rejects.toMatchObject({
      reason: 'unknown-key',
    });
    rotating.updateKeys({ keys: [key.publicKey, otherKey.publicKey], issuer: 'dtr' });
    await expect(rotating.verify(token, { repository, digest }, now)).resolves.toMatchObject({
      keyId: otherKey.keyId,
    });
  });

  it('checks the window, repository, digest and key on every use of a remembered grant', async () => {
    const remembering = new BlobGrantVerifier({ keys: [key.publicKey] }, { issuer: 'dtr' });
    const token = await grant();
    await expect(remembering.verify(token, { repository, digest }, now)).resolves.toBeDefined();
    await expect(remembering.verify(token, { repository, digest }, now)).resolves.toBeDefined();
    const refusal = (at: Date, expected = { repository, digest }) =>
      remembering.verify(token, expected, at).catch((error: { reason: string }) => error.reason);
    expect(await refusal(new Date(now.getTime() + 91_000))).toBe('expired');
    expect(await refusal(new Date(now.getTime() - 31_000))).toBe('not-yet-valid');
    expect(await refusal(now, { repository: 'team/other', digest })).toBe('repository');
    expect(await refusal(now, { repository, digest: Digest.of('other') })).toBe('digest');
    remembering.updateKeys({ keys: [otherKey.publicKey], issuer: 'dtr' });
    expect(await refusal(now)).toBe('unknown-key');
  });

  it('round-trips a signing key through PEM', async () => {
    const restored = await importGrantSigningKey(exportGrantSigningKey(key));
    expect(restored.keyId).toBe(key.keyId);
    await expect(
      verifier.verify(await grant({}, restored), { repository, digest }, now),
    ).resolves.toBeDefined();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    await expect(importGrantSigningKey(rsa.toString())).rejects.toThrow(/Ed25519/);
  });
});

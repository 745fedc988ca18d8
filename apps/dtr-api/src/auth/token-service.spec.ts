import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrantSigningKey, type GrantSigningKey } from '@dtr-cache/registry-protocol';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenService } from './token-service';

describe('TokenService', () => {
  let key: GrantSigningKey;
  let tokens: TokenService;
  beforeAll(async () => {
    key = await generateGrantSigningKey();
    tokens = new TokenService(key, { issuer: 'dtr', service: 'dtr', lifetimeSeconds: 300 });
  });

  /** A token signed with the service's key, with claims of our choosing. */
  const handMade = (claims: Record<string, unknown>) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: 'dtr',
      aud: 'dtr',
      sub: 'alice',
      uid: 7,
      gen: 2,
      access: [],
      iat: now,
      exp: now + 300,
      ...claims,
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.keyId, typ: 'JWT' })
      .sign(key.privateKey);
  };

  it('binds a token to the account id and generation, not the name', async () => {
    const token = await tokens.issue({ id: 7, name: 'alice', generation: 2 }, []);
    expect(await tokens.verify(token)).toMatchObject({
      subject: 'alice',
      account: { id: 7, generation: 2 },
    });
    expect(await tokens.verify(await tokens.issue(undefined, []))).toMatchObject({
      subject: '',
      account: undefined,
    });
  });

  it('refuses a named token without an account id, and absurd or over-long times', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await tokens.verify(await handMade({}))).toBeDefined();
    for (const claims of [
      { uid: undefined },
      { gen: 'x' },
      { iat: 1e308, exp: 1e308 },
      { exp: 1e308 },
      { iat: now - 3600, exp: now + 3600 },
      { iat: now + 3600, exp: now + 3900 },
      { iat: now + 0.5 },
    ])
      expect(await tokens.verify(await handMade(claims)), JSON.stringify(claims)).toBeUndefined();
  });
});

describe('TokenService.loadKey', () => {
  it('gives every replica starting at once on a shared key file the same key', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'dtr-key-'));
    try {
      const file = join(directory, 'keys', 'token-key.pem');
      const keys = await Promise.all(Array.from({ length: 8 }, () => TokenService.loadKey(file)));
      expect(new Set(keys.map((key) => key.keyId)).size).toBe(1);
      expect((await TokenService.loadKey(file)).keyId).toBe(keys[0]?.keyId);
      expect(await readdir(join(directory, 'keys'))).toEqual(['token-key.pem']);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

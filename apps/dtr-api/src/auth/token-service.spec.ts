import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  exportGrantSigningKey,
  generateGrantSigningKey,
  type GrantSigningKey,
} from '@dtr-cache/registry-protocol';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { databasePerTest } from '../../test/test-database';
import { SigningKeyring } from '../keys/signing-keyring';
import { readTokenKeyFile, TokenService } from './token-service';

describe('TokenService', () => {
  let key: GrantSigningKey;
  let tokens: TokenService;
  beforeAll(async () => {
    key = await generateGrantSigningKey();
    tokens = new TokenService(
      { signingKey: key, publicKeys: () => [key.publicKey] },
      { issuer: 'dtr', service: 'dtr', lifetimeSeconds: 300 },
    );
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

describe('token keys shared by replicas (token_keys)', () => {
  const { open } = databasePerTest('dtr-token-keys-');
  const options = { issuer: 'dtr', service: 'dtr', lifetimeSeconds: 300 };
  const alice = { id: 7, name: 'alice', generation: 2 };

  it('verifies on one replica what another signed, across a rotation, until the old key expires', async () => {
    const database = await open();
    const keyringOptions = { retentionMs: 360_000, publicationDelayMs: 0 };
    const [one, two] = [
      await SigningKeyring.load(database.database, 'token_keys', keyringOptions),
      await SigningKeyring.load(database.database, 'token_keys', keyringOptions),
    ] as const;
    const [first, second] = [new TokenService(one, options), new TokenService(two, options)];
    const before = await first.issue(alice, []);
    expect(await second.verify(before)).toMatchObject({ subject: 'alice' });

    const rotated = await one.rotate();
    await two.reload();
    expect(two.signingKey.keyId).toBe(rotated.keyId);
    const after = await first.issue(alice, []);
    expect(await second.verify(after)).toMatchObject({ subject: 'alice' });
    expect(await first.verify(before), 'the retired key still verifies').toBeDefined();
    expect(await second.verify(before)).toBeDefined();

    await two.prune(new Date(Date.now() + 400_000));
    expect(await second.verify(before), 'dropped once its tokens expired').toBeUndefined();
    expect(await second.verify(after)).toBeDefined();
  });

  it('starts from the key file of an earlier release, once, and its tokens verify', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'dtr-key-'));
    try {
      const file = join(directory, 'token-key.pem');
      expect(await readTokenKeyFile(file)).toBeUndefined();
      const earlier = await generateGrantSigningKey();
      await writeFile(file, exportGrantSigningKey(earlier), { mode: 0o600 });
      const database = await open();
      const keyringOptions = { retentionMs: 360_000, firstKey: () => readTokenKeyFile(file) };
      const keyrings = await Promise.all(
        [1, 2].map(() => SigningKeyring.load(database.database, 'token_keys', keyringOptions)),
      );
      for (const keyring of keyrings) {
        expect(keyring.signingKey.keyId).toBe(earlier.keyId);
        expect(keyring.publicKeys()).toHaveLength(1);
      }
      // A token the earlier release signed with the file's key.
      const tokens = new TokenService(keyrings[0] as SigningKeyring, options);
      const old = await new TokenService(
        { signingKey: earlier, publicKeys: () => [earlier.publicKey] },
        options,
      ).issue(alice, []);
      expect(await tokens.verify(old)).toMatchObject({ subject: 'alice' });
      await writeFile(file, 'not a key');
      await expect(readTokenKeyFile(file)).rejects.toThrow();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

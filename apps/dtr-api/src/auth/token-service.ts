import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type AccessScope,
  exportGrantSigningKey,
  generateGrantSigningKey,
  type GrantSigningKey,
  importGrantSigningKey,
} from '@dtr-cache/registry-protocol';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';

/** One entry of a token's `access` claim (registry token specification). */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

/** A verified registry token. */
export interface VerifiedToken {
  subject: string;
  access: TokenAccess[];
}

const TOKEN_TYPE = 'JWT';

/**
 * Issues and verifies the registry bearer tokens of the Docker token specification: JWTs signed
 * with DTR's own Ed25519 key (`alg: EdDSA`), `aud` = the service, `sub` = the user ('' for
 * anonymous), `access` = the granted scopes.
 */
export class TokenService {
  private readonly keySet: ReturnType<typeof createLocalJWKSet>;

  constructor(
    private readonly key: GrantSigningKey,
    private readonly options: { issuer: string; service: string; lifetimeSeconds: number },
  ) {
    this.keySet = createLocalJWKSet({ keys: [key.publicKey] });
  }

  /** Loads the signing key from `keyFile`, generating and saving it (mode 0600) on first start. */
  static async loadKey(keyFile: string): Promise<GrantSigningKey> {
    if (existsSync(keyFile)) return importGrantSigningKey(readFileSync(keyFile, 'utf8'));
    const key = await generateGrantSigningKey();
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, exportGrantSigningKey(key), { mode: 0o600, flag: 'wx' });
    return key;
  }

  get lifetimeSeconds(): number {
    return this.options.lifetimeSeconds;
  }

  async issue(subject: string, access: readonly AccessScope[], now = new Date()): Promise<string> {
    const issuedAt = Math.floor(now.getTime() / 1000);
    return new SignJWT({
      access: access.map(({ type, name, actions }) => ({ type, name, actions: [...actions] })),
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.keyId, typ: TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.service)
      .setSubject(subject)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + this.options.lifetimeSeconds)
      .setJti(crypto.randomUUID())
      .sign(this.key.privateKey);
  }

  /** The token's subject and access, or undefined if it is not a valid, current token of this DTR. */
  async verify(token: string): Promise<VerifiedToken | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.keySet, {
        algorithms: ['EdDSA'],
        issuer: this.options.issuer,
        audience: this.options.service,
        typ: TOKEN_TYPE,
        clockTolerance: 30,
      });
      const access = Array.isArray(payload['access']) ? (payload['access'] as TokenAccess[]) : [];
      return { subject: typeof payload.sub === 'string' ? payload.sub : '', access };
    } catch {
      return undefined;
    }
  }
}

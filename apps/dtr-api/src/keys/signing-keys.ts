import type { Logger } from '@dtr-cache/logging';
import { readTokenKeyFile } from '../auth/token-service';
import { GrantKeyring } from '../grants/grant-keyring';
import type { Database } from '../store/schema';
import { SigningKeyring } from './signing-keyring';

/** How often each replica reads the keys again (to learn another replica's rotation). */
const KEY_RELOAD_MS = 10_000;

/**
 * How long a new key is published before it signs: every replica reloads the keys within
 * {@link KEY_RELOAD_MS}, and a cache asks again for grant keys when it meets an unknown one.
 */
const PUBLICATION_DELAY_MS = 60_000;

/** Clock skew allowed beyond a credential's lifetime before its retired key is dropped. */
const RETENTION_MARGIN_MS = 60_000;

/** What {@link openSigningKeys} needs: the credentials' lifetimes and rotation periods. */
export interface SigningKeysOptions {
  readonly issuer: string;
  readonly grantLifetimeMs: number;
  readonly grantRotationMs: number;
  readonly tokenLifetimeMs: number;
  readonly tokenRotationMs: number;
  /** `auth.keyfile`: a token key kept by an earlier release, imported as the first token key. */
  readonly tokenKeyFile: string;
}

/** DTR's two keyrings, rotated on schedule until {@link stop}. */
export interface SigningKeys {
  readonly grantKeys: GrantKeyring;
  readonly tokenKeys: SigningKeyring;
  /** Stops the rotation (and reloading) timer. */
  stop(): void;
}

/**
 * Opens the blob-grant keys and the registry token keys (shared by every replica through the
 * database) and rotates each on its period: the first replica due adds the next key, published
 * a minute before it signs; every replica reloads the keys every 10 s. Retired keys stay until
 * every credential they signed has expired.
 * @throws Error when `tokenKeyFile` exists but holds no Ed25519 key; the database's errors.
 */
export async function openSigningKeys(
  database: Database,
  options: SigningKeysOptions,
  logger: Logger,
): Promise<SigningKeys> {
  const grantKeys = await GrantKeyring.openGrantKeys(database, {
    issuer: options.issuer,
    retentionMs: options.grantLifetimeMs + RETENTION_MARGIN_MS,
    publicationDelayMs: PUBLICATION_DELAY_MS,
  });
  const tokenKeys = await SigningKeyring.load(database, 'token_keys', {
    retentionMs: options.tokenLifetimeMs + RETENTION_MARGIN_MS,
    publicationDelayMs: PUBLICATION_DELAY_MS,
    firstKey: () => readTokenKeyFile(options.tokenKeyFile),
  });
  const rotations = [
    { kind: 'grant', keyring: grantKeys, periodMs: options.grantRotationMs },
    { kind: 'token', keyring: tokenKeys, periodMs: options.tokenRotationMs },
  ] as const;
  const timer = setInterval(
    () => {
      for (const { kind, keyring, periodMs } of rotations)
        void keyring.rotateIfDue(periodMs).then(
          (key) => key && logger.info('signing key rotated', { kind, keyId: key.keyId }),
          (error: unknown) => logger.error('signing key rotation failed', { kind, error }),
        );
    },
    Math.min(options.grantRotationMs, options.tokenRotationMs, KEY_RELOAD_MS),
  );
  timer.unref();
  return { grantKeys, tokenKeys, stop: () => clearInterval(timer) };
}

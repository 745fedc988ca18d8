import {
  BlobGrantVerifier,
  exportGrantSigningKey,
  generateGrantSigningKey,
  type GrantKeySet,
  type GrantSigningKey,
  importGrantSigningKey,
} from '@dtr-cache/registry-protocol';
import type { Database } from '../store/schema';

interface LoadedKey {
  key: GrantSigningKey;
  createdAt: Date;
  retiredAt: Date | undefined;
}

/**
 * DTR's blob-grant signing keys, kept in the database. One key signs; after a rotation the previous
 * keys stay published (JWKS) until every grant they signed has expired (`retention` after their
 * retirement), then they are dropped. A key is generated on first start.
 */
export class GrantKeyring {
  private keys: LoadedKey[] = [];
  readonly verifier: BlobGrantVerifier;

  private constructor(
    private readonly database: Database,
    private readonly options: { issuer: string; retentionMs: number },
  ) {
    this.verifier = new BlobGrantVerifier({ keys: [] }, { issuer: options.issuer });
  }

  /** Loads the keys, creating the first one if there is none. */
  static async open(
    database: Database,
    options: { issuer: string; retentionMs: number },
  ): Promise<GrantKeyring> {
    const keyring = new GrantKeyring(database, options);
    await keyring.reload();
    if (!keyring.keys.some((key) => key.retiredAt === undefined)) await keyring.rotate();
    return keyring;
  }

  private async reload(now = new Date()): Promise<void> {
    const horizon = new Date(now.getTime() - this.options.retentionMs).toISOString();
    await this.database
      .deleteFrom('grant_keys')
      .where('retired_at', 'is not', null)
      .where('retired_at', '<', horizon)
      .execute();
    const rows = await this.database
      .selectFrom('grant_keys')
      .selectAll()
      .orderBy('created_at')
      .execute();
    this.keys = await Promise.all(
      rows.map(async (row) => ({
        key: await importGrantSigningKey(row.private_key_pem),
        createdAt: new Date(row.created_at),
        retiredAt: row.retired_at === null ? undefined : new Date(row.retired_at),
      })),
    );
    this.verifier.updateKeys(this.keySet());
  }

  /** The key that signs new grants. */
  get signingKey(): GrantSigningKey {
    const active = this.keys.filter((key) => key.retiredAt === undefined).at(-1);
    if (!active) throw new Error('no active grant signing key');
    return active.key;
  }

  /** Creates a new signing key; the previous one is retired but stays published for `retention`. */
  async rotate(now = new Date()): Promise<GrantSigningKey> {
    const key = await generateGrantSigningKey();
    await this.database.transaction().execute(async (transaction) => {
      await transaction
        .updateTable('grant_keys')
        .set({ retired_at: now.toISOString() })
        .where('retired_at', 'is', null)
        .execute();
      await transaction
        .insertInto('grant_keys')
        .values({
          key_id: key.keyId,
          private_key_pem: exportGrantSigningKey(key),
          created_at: now.toISOString(),
        })
        .execute();
    });
    await this.reload(now);
    return key;
  }

  /** Drops retired keys whose grants have all expired. */
  async prune(now = new Date()): Promise<void> {
    await this.reload(now);
  }

  /** When the active key was created (to decide on scheduled rotation). */
  get activeSince(): Date {
    return this.keys.filter((key) => key.retiredAt === undefined).at(-1)?.createdAt ?? new Date(0);
  }

  /**
   * The public keys as a JWKS document: the active key and retired keys still in retention, with
   * the issuer their grants carry (caches learn it here and check it on every grant).
   */
  keySet(): GrantKeySet {
    return { keys: this.keys.map(({ key }) => key.publicKey), issuer: this.options.issuer };
  }
}

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
  /** When it starts signing (published before, so every replica and cache knows it by then). */
  activatesAt: Date;
  retiredAt: Date | undefined;
}

/** Options of {@link GrantKeyring}. */
export interface GrantKeyringOptions {
  readonly issuer: string;
  /** How long a retired key stays published: its grants' lifetime plus clock skew. */
  readonly retentionMs: number;
  /**
   * How long a new key is published before it signs: longer than every replica's reload interval
   * plus the JWKS document's cache lifetime, so no grant reaches a replica or cache that does not
   * know its key yet. 0 for a single process.
   */
  readonly publicationDelayMs?: number;
}

/**
 * DTR's blob-grant signing keys, kept in the database and shared by every replica. One key signs;
 * a rotation publishes a new key first and makes it sign only after `publicationDelayMs`; the
 * previous keys stay published (JWKS) until every grant they signed has expired (`retention`
 * after their retirement), then they are dropped. Replicas rotate together: the first one due
 * retires the active key and adds the next; the others find it done. Each replica reloads the
 * keys (see {@link reload}) to learn the others' rotations.
 */
export class GrantKeyring {
  private keys: LoadedKey[] = [];
  readonly verifier: BlobGrantVerifier;

  private constructor(
    private readonly database: Database,
    private readonly options: GrantKeyringOptions,
  ) {
    this.verifier = new BlobGrantVerifier({ keys: [] }, { issuer: options.issuer });
  }

  /** Loads the keys, creating the first one if there is none. */
  static async open(database: Database, options: GrantKeyringOptions): Promise<GrantKeyring> {
    const keyring = new GrantKeyring(database, options);
    await keyring.reload();
    if (!keyring.keys.some((key) => key.retiredAt === undefined)) {
      await keyring.addKey(new Date(), 0);
      await keyring.reload();
    }
    return keyring;
  }

  /** Reads the keys again (another replica may have rotated) and drops expired retired keys. */
  async reload(now = new Date()): Promise<void> {
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
    const known = new Map(this.keys.map((loaded) => [loaded.key.keyId, loaded.key]));
    this.keys = await Promise.all(
      rows.map(async (row) => ({
        key: known.get(row.key_id) ?? (await importGrantSigningKey(row.private_key_pem)),
        createdAt: new Date(row.created_at),
        activatesAt: new Date(row.activates_at ?? row.created_at),
        retiredAt: row.retired_at === null ? undefined : new Date(row.retired_at),
      })),
    );
    this.verifier.updateKeys(this.keySet());
  }

  /** The key that signs new grants now: the newest one whose publication delay has passed. */
  get signingKey(): GrantSigningKey {
    return this.signingKeyAt(new Date());
  }

  /**
   * The key that signs at `now` (of the keys loaded): the newest active one; if none is active
   * yet (a replica whose clock lags another's, which dropped the previous key), the oldest one.
   */
  signingKeyAt(now: Date): GrantSigningKey {
    const active = this.keys.filter((key) => key.activatesAt <= now).at(-1) ?? this.keys[0];
    if (!active) throw new Error('no grant signing key');
    return active.key;
  }

  /**
   * Rotates unless the active key was created less than `periodMs` ago (by this replica or
   * another): retires the active key when the new one activates, and adds the new one. Returns
   * the new key, or undefined if no rotation was due.
   */
  async rotateIfDue(periodMs: number, now = new Date()): Promise<GrantSigningKey | undefined> {
    await this.reload(now);
    const newest = this.keys.at(-1);
    if (newest && newest.createdAt.getTime() + periodMs > now.getTime()) return undefined;
    // Only if the active keys are still older than the period: replicas rotating at once add one
    // key, the first one's; the others get undefined.
    const createdBefore = new Date(now.getTime() - periodMs);
    const key = await this.addKey(now, this.options.publicationDelayMs ?? 0, createdBefore);
    await this.reload(now);
    return key;
  }

  /**
   * Adds a new signing key now; the keys active before retire when it activates (after the
   * publication delay) and stay published for `retention`.
   */
  async rotate(now = new Date()): Promise<GrantSigningKey> {
    const key = await this.addKey(now, this.options.publicationDelayMs ?? 0);
    await this.reload(now);
    if (!key) throw new Error('no grant signing key was added');
    return key;
  }

  private async addKey(
    now: Date,
    delayMs: number,
    createdBefore?: Date,
  ): Promise<GrantSigningKey | undefined> {
    const key = await generateGrantSigningKey();
    const activatesAt = new Date(now.getTime() + delayMs).toISOString();
    const added = await this.database.transaction().execute(async (transaction) => {
      // Retiring the active keys locks their rows (PostgreSQL): a replica rotating at the same
      // time waits, then finds them retired and adds nothing.
      let retire = transaction
        .updateTable('grant_keys')
        .set({ retired_at: activatesAt })
        .where('retired_at', 'is', null);
      if (createdBefore) retire = retire.where('created_at', '<', createdBefore.toISOString());
      const retired = await retire.executeTakeFirst();
      if (createdBefore && retired.numUpdatedRows === 0n) return false;
      await transaction
        .insertInto('grant_keys')
        .values({
          key_id: key.keyId,
          private_key_pem: exportGrantSigningKey(key),
          created_at: now.toISOString(),
          activates_at: activatesAt,
        })
        .execute();
      return true;
    });
    return added ? key : undefined;
  }

  /** Drops retired keys whose grants have all expired. */
  async prune(now = new Date()): Promise<void> {
    await this.reload(now);
  }

  /**
   * The public keys as a JWKS document: the signing key, keys about to sign, and retired keys
   * still in retention, with the issuer their grants carry (caches learn it here and check it on
   * every grant).
   */
  keySet(): GrantKeySet {
    return { keys: this.keys.map(({ key }) => key.publicKey), issuer: this.options.issuer };
  }
}

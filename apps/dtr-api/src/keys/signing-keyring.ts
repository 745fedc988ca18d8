import {
  exportGrantSigningKey,
  generateGrantSigningKey,
  type GrantPublicKey,
  type GrantSigningKey,
  importGrantSigningKey,
} from '@dtr-cache/registry-protocol';
import type { Database } from '../store/schema';

/** The tables of signing keys: one per kind of credential DTR signs (same columns). */
export type SigningKeyTable = 'grant_keys' | 'token_keys';

interface LoadedKey {
  key: GrantSigningKey;
  createdAt: Date;
  /** When it starts signing (published before, so every replica and cache knows it by then). */
  activatesAt: Date;
  retiredAt: Date | undefined;
}

/** Options of {@link SigningKeyring}. */
export interface SigningKeyringOptions {
  /** How long a retired key stays published: its credentials' lifetime plus clock skew. */
  readonly retentionMs: number;
  /**
   * How long a new key is published before it signs: longer than every replica's reload interval
   * (plus, for grants, the JWKS document's cache lifetime), so no credential reaches a replica or
   * cache that does not know its key yet. 0 for a single process.
   */
  readonly publicationDelayMs?: number;
  /**
   * The key to start with when the table has none (e.g. one kept in a file before keys were kept
   * in the database): credentials it signed stay valid. Default: a new key.
   */
  readonly firstKey?: () => Promise<GrantSigningKey | undefined>;
}

/**
 * Ed25519 signing keys of one kind (`table`), kept in the database and shared by every replica.
 * One key signs; a rotation publishes a new key first and makes it sign only after
 * `publicationDelayMs`; the previous keys stay published until every credential they signed has
 * expired (`retention` after their retirement), then they are dropped. Replicas rotate together:
 * the first one due retires the active key and adds the next; the others find it done. Each
 * replica reloads the keys (see {@link reload}) to learn the others' rotations.
 */
export class SigningKeyring {
  private keys: LoadedKey[] = [];

  protected constructor(
    private readonly database: Database,
    private readonly table: SigningKeyTable,
    private readonly options: SigningKeyringOptions,
  ) {}

  /** Loads the keys of `table`, adding the first one if there is none. */
  static async load(
    database: Database,
    table: SigningKeyTable,
    options: SigningKeyringOptions,
  ): Promise<SigningKeyring> {
    return SigningKeyring.loaded(new SigningKeyring(database, table, options));
  }

  /** `keyring` with its keys loaded, the first one added if there was none. */
  protected static async loaded<Keyring extends SigningKeyring>(
    keyring: Keyring,
  ): Promise<Keyring> {
    await keyring.reload();
    if (!keyring.keys.some((key) => key.retiredAt === undefined)) {
      await keyring.addFirstKey(new Date());
      await keyring.reload();
    }
    return keyring;
  }

  /** Called after every reload, with the keys as now published (subclasses refresh verifiers). */
  protected published(_keys: readonly GrantPublicKey[]): void {
    // Nothing to refresh here: readers ask for publicKeys() when they verify.
  }

  /** Reads the keys again (another replica may have rotated) and drops expired retired keys. */
  async reload(now = new Date()): Promise<void> {
    const horizon = new Date(now.getTime() - this.options.retentionMs).toISOString();
    await this.database
      .deleteFrom(this.table)
      .where('retired_at', 'is not', null)
      .where('retired_at', '<', horizon)
      .execute();
    const rows = await this.database
      .selectFrom(this.table)
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
    this.published(this.publicKeys());
  }

  /** The public keys: the signing key, keys about to sign, and retired keys still in retention. */
  publicKeys(): GrantPublicKey[] {
    return this.keys.map(({ key }) => key.publicKey);
  }

  /** The key that signs new credentials now: the newest one whose publication delay has passed. */
  get signingKey(): GrantSigningKey {
    return this.signingKeyAt(new Date());
  }

  /**
   * The key that signs at `now` (of the keys loaded): the newest active one; if none is active
   * yet (a replica whose clock lags another's, which dropped the previous key), the oldest one.
   */
  signingKeyAt(now: Date): GrantSigningKey {
    const active = this.keys.filter((key) => key.activatesAt <= now).at(-1) ?? this.keys[0];
    if (!active) throw new Error(`no signing key in ${this.table}`);
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
    if (!key) throw new Error(`no signing key was added to ${this.table}`);
    return key;
  }

  /**
   * Adds the first key (`firstKey`, else a new one), signing at once, retiring nothing. Replicas
   * starting at once on an empty table each add theirs (the same one from a shared file): every
   * replica signs with the newest once it reloaded, and verifies with all of them.
   */
  private async addFirstKey(now: Date): Promise<void> {
    const key = (await this.options.firstKey?.()) ?? (await generateGrantSigningKey());
    const at = now.toISOString();
    await this.database
      .insertInto(this.table)
      .values({
        key_id: key.keyId,
        private_key_pem: exportGrantSigningKey(key),
        created_at: at,
        activates_at: at,
      })
      .onConflict((conflict) => conflict.column('key_id').doNothing())
      .execute();
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
        .updateTable(this.table)
        .set({ retired_at: activatesAt })
        .where('retired_at', 'is', null);
      if (createdBefore) retire = retire.where('created_at', '<', createdBefore.toISOString());
      const retired = await retire.executeTakeFirst();
      if (createdBefore && retired.numUpdatedRows === 0n) return false;
      await transaction
        .insertInto(this.table)
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

  /** Drops retired keys whose credentials have all expired. */
  async prune(now = new Date()): Promise<void> {
    await this.reload(now);
  }
}

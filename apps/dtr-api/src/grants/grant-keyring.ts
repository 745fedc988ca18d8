import {
  BlobGrantVerifier,
  type GrantKeySet,
  type GrantPublicKey,
} from '@dtr-cache/registry-protocol';
import { SigningKeyring, type SigningKeyringOptions } from '../keys/signing-keyring';
import type { Database } from '../store/schema';

/** Options of {@link GrantKeyring}. */
export interface GrantKeyringOptions extends SigningKeyringOptions {
  /** The `iss` of DTR's grants, published with the keys (caches check it on every grant). */
  readonly issuer: string;
}

/**
 * DTR's blob-grant signing keys (`grant_keys`), rotated as a {@link SigningKeyring}, published to
 * the caches as a JWKS document ({@link keySet}), and checked here by {@link verifier} (a cache
 * filling its copy carries a grant).
 */
export class GrantKeyring extends SigningKeyring {
  readonly verifier: BlobGrantVerifier;

  private constructor(
    database: Database,
    private readonly issuer: string,
    options: SigningKeyringOptions,
  ) {
    super(database, 'grant_keys', options);
    this.verifier = new BlobGrantVerifier({ keys: [] }, { issuer });
  }

  /** Loads the keys, creating the first one if there is none. */
  static async openGrantKeys(
    database: Database,
    options: GrantKeyringOptions,
  ): Promise<GrantKeyring> {
    return SigningKeyring.loaded(new GrantKeyring(database, options.issuer, options));
  }

  protected override published(keys: readonly GrantPublicKey[]): void {
    this.verifier.updateKeys({ keys: [...keys], issuer: this.issuer });
  }

  /**
   * The public keys as a JWKS document: the signing key, keys about to sign, and retired keys
   * still in retention, with the issuer their grants carry (caches learn it here and check it on
   * every grant).
   */
  keySet(): GrantKeySet {
    return { keys: this.publicKeys(), issuer: this.issuer };
  }
}

import {
  type BlobGrant,
  BlobGrantError,
  BlobGrantVerifier,
  type Digest,
  CacheStatsCredentialError,
  type GrantKeySet,
  RegistryError,
  verifyCacheStatsCredential,
} from '@dtr-cache/registry-protocol';
import type { Logger } from '@dtr-cache/logging';
import type { UpstreamClient } from './upstream-client';

/** How soon a failed key refresh is tried again. */
const FAILED_REFRESH_RETRY_MS = 1000;
/** While refreshes keep failing, one warning per this many failures (about a minute). */
const WARN_EVERY_FAILURES = 60;

/**
 * DTR's blob-grant public keys, as the next hop serves them (DTR itself, or an upstream cache
 * relaying the keys it holds). Grants are verified offline against them; a grant with an unknown
 * key id causes at most one refresh per `minRefreshIntervalMs` (rate-limited), and the keys are
 * refreshed every `refreshIntervalMs` anyway.
 *
 * An upstream that answers with no keys (a cache that has not fetched them itself yet) counts as
 * unreachable: the keys held are kept and the fetch is retried, so a hop started before its
 * upstream had keys does not refuse every grant until the next scheduled refresh. So does one that
 * does not say which issuer its grants carry (`issuer` beside the keys): every grant's `iss` is
 * checked against it, and its `aud` marks it as a blob grant, at every hop.
 */
export class UpstreamKeys {
  private readonly verifier = new BlobGrantVerifier({ keys: [] });
  private keys: GrantKeySet = { keys: [] };
  private lastRefresh = 0;
  /** Refreshes failed since the last one that succeeded (a failed one may be retried sooner). */
  private failuresInARow = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly upstream: UpstreamClient,
    private readonly logger: Logger,
    private readonly options: { minRefreshIntervalMs: number; refreshIntervalMs: number } = {
      minRefreshIntervalMs: 10_000,
      refreshIntervalMs: 300_000,
    },
  ) {}

  /** The keys held now, for relaying to downstream caches. */
  keySet(): GrantKeySet {
    return this.keys;
  }

  /** Whether any key is held: without one no grant can be verified (not ready to serve). */
  get ready(): boolean {
    return this.keys.keys.length > 0;
  }

  /**
   * For what needs the keys (verifying, relaying them).
   * @throws RegistryError `UNAVAILABLE` (503, retry in a second) while no key is held.
   */
  assertReady(): void {
    if (!this.ready)
      throw new RegistryError('UNAVAILABLE', 'the cache has no grant keys from upstream yet', {
        headers: { 'Retry-After': '1' },
      });
  }

  /** Fetches the keys now (one fetch at a time); false if the upstream could not be asked. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      this.lastRefresh = Date.now();
      try {
        const fetched = await this.upstream.fetchKeys();
        const keys = Array.isArray(fetched.keys) ? fetched.keys : [];
        if (keys.length === 0) throw new Error('the upstream holds no grant keys yet');
        const issuer = fetched.issuer;
        if (typeof issuer !== 'string' || issuer === '')
          throw new Error('the upstream does not name the issuer of its grants');
        this.keys = { keys, issuer };
        this.verifier.updateKeys(this.keys);
        if (this.failuresInARow > 0)
          this.logger.info('grant keys fetched from upstream again', {
            failures: this.failuresInARow,
          });
        this.logger.debug('grant keys refreshed', { keys: keys.length });
        this.failuresInARow = 0;
        return true;
      } catch (error) {
        if (this.failuresInARow % WARN_EVERY_FAILURES === 0)
          this.logger.warn('grant keys could not be fetched from upstream', {
            error,
            failures: this.failuresInARow + 1,
          });
        this.failuresInARow += 1;
        return false;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /**
   * Fetches the keys and keeps refreshing them. If the upstream cannot be reached yet (it may be
   * starting too), retries every second until it answers.
   */
  async start(): Promise<void> {
    if (!(await this.refresh())) {
      this.retryTimer = setInterval(() => {
        void this.refresh().then((ok) => ok && clearInterval(this.retryTimer));
      }, FAILED_REFRESH_RETRY_MS);
      this.retryTimer.unref();
    }
    this.timer = setInterval(() => void this.refresh(), this.options.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.retryTimer);
  }

  /**
   * Verifies a grant for exactly `repository` and `digest`.
   * @throws BlobGrantError (401) for every refusal; RegistryError `UNAVAILABLE` (503) while no
   * key is held at all (the grant cannot be judged yet; nothing about the blob is revealed).
   */
  async verify(
    token: string | undefined,
    expected: { repository: string; digest: Digest },
  ): Promise<BlobGrant> {
    return this.withKeyRefresh(() => this.verifier.verify(token, expected));
  }

  /**
   * Verifies DTR's stats credential (`Authorization: Bearer`) with the same keys and issuer as
   * grants, but its own type and audience.
   * @throws CacheStatsCredentialError (401) for every refusal; `UNAVAILABLE` (503) without keys.
   */
  async verifyStatsCredential(token: string | undefined): Promise<void> {
    this.assertReady();
    await this.withKeyRefresh(() => verifyCacheStatsCredential(token, this.keys));
  }

  /**
   * Runs `verify`; a refusal for an unknown key refreshes the keys (rate-limited) and runs it once
   * more.
   */
  private async withKeyRefresh<T>(verify: () => Promise<T>): Promise<T> {
    try {
      return await verify();
    } catch (error) {
      const unknownKey =
        (error instanceof BlobGrantError || error instanceof CacheStatsCredentialError) &&
        error.reason === 'unknown-key';
      if (!unknownKey) throw error;
      // After a failed refresh, an unknown key may ask again sooner (still rate-limited).
      const interval =
        this.failuresInARow === 0
          ? this.options.minRefreshIntervalMs
          : Math.min(this.options.minRefreshIntervalMs, FAILED_REFRESH_RETRY_MS);
      const mayRefresh = Date.now() - this.lastRefresh >= interval;
      if (mayRefresh) await this.refresh();
      this.assertReady();
      if (!mayRefresh) throw error;
      return verify();
    }
  }
}

import {
  type BlobGrant,
  BlobGrantError,
  BlobGrantVerifier,
  type Digest,
  type GrantKeySet,
} from '@dtr-cache/registry-protocol';
import type { Logger } from '@dtr-cache/logging';
import type { UpstreamClient } from './upstream-client';

/** How soon a failed key refresh is tried again. */
const FAILED_REFRESH_RETRY_MS = 1000;

/**
 * DTR's blob-grant public keys, as the next hop serves them (DTR itself, or an upstream cache
 * relaying the keys it holds). Grants are verified offline against them; a grant with an unknown
 * key id causes at most one refresh per `minRefreshIntervalMs` (rate-limited), and the keys are
 * refreshed every `refreshIntervalMs` anyway.
 */
export class UpstreamKeys {
  private readonly verifier = new BlobGrantVerifier({ keys: [] });
  private keys: GrantKeySet = { keys: [] };
  private lastRefresh = 0;
  /** Whether the last refresh reached the upstream (a failed one may be retried sooner). */
  private lastRefreshSucceeded = false;
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

  /** Fetches the keys now (one fetch at a time); false if the upstream could not be asked. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      this.lastRefresh = Date.now();
      try {
        const keys = await this.upstream.fetchKeys();
        this.keys = { keys: Array.isArray(keys.keys) ? keys.keys : [] };
        this.verifier.updateKeys(this.keys);
        this.logger.debug('grant keys refreshed', { keys: this.keys.keys.length });
        this.lastRefreshSucceeded = true;
        return true;
      } catch (error) {
        this.logger.warn('grant keys could not be fetched from upstream', { error });
        this.lastRefreshSucceeded = false;
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
   * @throws BlobGrantError (401) for every refusal.
   */
  async verify(
    token: string | undefined,
    expected: { repository: string; digest: Digest },
  ): Promise<BlobGrant> {
    try {
      return await this.verifier.verify(token, expected);
    } catch (error) {
      const unknownKey = error instanceof BlobGrantError && error.reason === 'unknown-key';
      // After a failed refresh, an unknown key may ask again sooner (still rate-limited).
      const interval = this.lastRefreshSucceeded
        ? this.options.minRefreshIntervalMs
        : Math.min(this.options.minRefreshIntervalMs, FAILED_REFRESH_RETRY_MS);
      if (!unknownKey || Date.now() - this.lastRefresh < interval) throw error;
      await this.refresh();
      return this.verifier.verify(token, expected);
    }
  }
}

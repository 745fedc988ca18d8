import {
  type BlobGrant,
  BlobGrantError,
  BlobGrantVerifier,
  type Digest,
  type GrantKeySet,
} from '@dtr-cache/registry-protocol';
import type { Logger } from '@dtr-cache/logging';
import type { UpstreamClient } from './upstream-client';

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
        return true;
      } catch (error) {
        this.logger.warn('grant keys could not be fetched from upstream', { error });
        return false;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Fetches the keys and keeps refreshing them. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
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
      if (!unknownKey || Date.now() - this.lastRefresh < this.options.minRefreshIntervalMs)
        throw error;
      await this.refresh();
      return this.verifier.verify(token, expected);
    }
  }
}

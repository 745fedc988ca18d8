import { randomUUID } from 'node:crypto';
import { signCacheStatsCredential } from '@dtr-cache/registry-protocol';
import type { Logger } from '@dtr-cache/logging';
import type { GrantKeyring } from '../grants/grant-keyring';
import type { CacheSample, CacheStatsStore } from '../store/cache-stats-store';
import type { ContentCacheStore } from '../store/content-cache-store';
import type { CachePullCounts } from './cache-pull-counts';
import type { CacheStatsClient } from './cache-stats-client';

/** How long samples are kept: the dashboard charts the last hour. */
export const SAMPLE_RETENTION_MS = 2 * 60 * 60 * 1000;

/** What a {@link CacheStatsSampler} runs with. */
export interface CacheStatsSamplerOptions {
  /** `contentcaches.sampling.interval` in milliseconds. */
  readonly intervalMs: number;
  /** `auth.issuer`: the `iss` of the stats credential (and of grants). */
  readonly issuer: string;
}

/**
 * Samples every member of every registered cache once per interval across all replicas, for the
 * administrators' dashboard. Each interval every replica adds the pulls it counted to the database
 * (see {@link CachePullCounts}), then tries to claim the interval's slot; the one replica that
 * claims it reads each member's stats with a freshly signed credential (all at once, each bounded
 * by the timeout), stores one sample per member (a failure with its reason) and deletes samples
 * older than {@link SAMPLE_RETENTION_MS}. Never throws: a failed tick is logged.
 */
export class CacheStatsSampler {
  /** This replica's name in the slots it claims. */
  readonly replica = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private stopped = false;

  constructor(
    private readonly caches: Pick<ContentCacheStore, 'list'>,
    readonly store: CacheStatsStore,
    private readonly pulls: CachePullCounts,
    private readonly keys: Pick<GrantKeyring, 'signingKey'>,
    private readonly client: Pick<CacheStatsClient, 'read'>,
    readonly options: CacheStatsSamplerOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * The slot of time `at`: the start of the interval it falls in, in milliseconds since the epoch
   * (a time, so samples keep their meaning when the interval is changed, and replicas whose
   * intervals differ during a rolling change claim the same slot only for the same instant).
   */
  slotOf(at: number): number {
    return Math.floor(at / this.options.intervalMs) * this.options.intervalMs;
  }

  /** Samples now (if this interval is unclaimed), then every interval. */
  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops sampling, waits for a tick under way and stores the pulls counted since it (before the
   * database closes), so a restart loses no counts.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.storePulls();
  }

  /**
   * One interval's work; true if this replica sampled. A tick still running when the next is due
   * is not overlapped (that one is skipped).
   */
  tick(now = Date.now()): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.running) return this.running;
    this.running = this.runTick(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Adds the pulls counted since the last time to the database (all or none: a transaction). */
  private async storePulls(): Promise<void> {
    const pulls = this.pulls.take();
    if (pulls.size === 0) return;
    try {
      await this.store.addPulls(pulls);
    } catch (error) {
      this.pulls.giveBack(pulls);
      this.logger.warn('content cache pull counts not stored', { error });
    }
  }

  private async runTick(now: number): Promise<boolean> {
    await this.storePulls();
    try {
      const slot = this.slotOf(now);
      if (!(await this.store.claimSlot(slot, this.replica, new Date(now)))) return false;
      const samples = await this.sampleAll(slot);
      if (this.stopped) return true;
      await this.store.record(samples);
      await this.store.prune(this.slotOf(now - SAMPLE_RETENTION_MS));
      return true;
    } catch (error) {
      this.logger.warn('content cache stats not sampled', { error });
      return false;
    }
  }

  /** Reads every member of every cache at once with one credential. */
  private async sampleAll(slot: number): Promise<CacheSample[]> {
    const caches = await this.caches.list();
    if (caches.length === 0) return [];
    const lifetimeSeconds = Math.min(300, Math.max(30, Math.ceil(this.options.intervalMs / 1000)));
    const credential = await signCacheStatsCredential(this.keys.signingKey, {
      issuer: this.options.issuer,
      lifetimeSeconds,
    });
    return Promise.all(
      caches.flatMap((cache) =>
        cache.hosts.map(async (host): Promise<CacheSample> => {
          const reading = await this.client.read(host, credential);
          if (reading.error !== undefined)
            this.logger.debug('content cache stats not read', {
              cache: cache.name,
              host,
              reason: reading.error,
            });
          return {
            cacheId: cache.id,
            host,
            slot,
            sampledAt: new Date(),
            stats: reading.stats,
            error: reading.error,
          };
        }),
      ),
    );
  }
}

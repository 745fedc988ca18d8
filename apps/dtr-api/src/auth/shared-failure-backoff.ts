import type { AuthFailureStore } from '../store/auth-failure-store';
import { type BackoffPolicy, type FailureCounter, waitAfter } from './failure-backoff';

/** How often stale keys are removed from the table, at most. */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * The {@link FailureCounter} of a DTR with replicas: the same policy as {@link FailureBackoff},
 * with the counts in the database, so every replica holds an account or address back alike. A key
 * quiet for four times the longest wait is forgotten (and removed about once a minute).
 */
export class SharedFailureBackoff implements FailureCounter {
  private prunedAt = 0;

  constructor(
    private readonly store: AuthFailureStore,
    private readonly policy: BackoffPolicy,
  ) {}

  async waitFor(key: string, now = Date.now()): Promise<number> {
    const current = await this.store.current(key, this.staleBefore(now));
    return current ? Math.max(0, current.until - now) : 0;
  }

  async fail(key: string, now = Date.now()): Promise<{ failures: number; wait: number }> {
    if (now - this.prunedAt > PRUNE_INTERVAL_MS) {
      this.prunedAt = now;
      await this.store.prune(this.staleBefore(now));
    }
    const failures = await this.store.fail(key, now, this.staleBefore(now), (count) =>
      waitAfter(count, this.policy),
    );
    return { failures, wait: waitAfter(failures, this.policy) };
  }

  succeed(key: string): Promise<void> {
    return this.store.clear(key);
  }

  private staleBefore(now: number): number {
    return now - 4 * this.policy.maxBackoffMs;
  }
}

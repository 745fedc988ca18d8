/** How failures are held back: free attempts, then a wait that doubles up to a ceiling. */
export interface BackoffPolicy {
  /** Consecutive failures allowed before any wait. */
  readonly freeAttempts: number;
  /** The longest wait; a key is never held back for longer after its last failure. */
  readonly maxBackoffMs: number;
}

interface Entry {
  failures: number;
  /** When the next attempt is allowed (epoch ms). */
  until: number;
  /** The last failure (epoch ms). */
  last: number;
}

/** The first wait once the free attempts are used up. */
const FIRST_WAIT_MS = 1000;

/** The wait after `failures` consecutive failures: none while free, then 1 s doubling to the cap. */
export function waitAfter(failures: number, policy: BackoffPolicy): number {
  const over = failures - policy.freeAttempts;
  return over < 0 ? 0 : Math.min(policy.maxBackoffMs, FIRST_WAIT_MS * 2 ** Math.min(over, 40));
}

/** Failures per key and the waits they impose: what {@link PasswordGuard} holds back with. */
export interface FailureCounter {
  /** Milliseconds to wait before another attempt under `key`; 0 if it may try now. */
  waitFor(key: string, now?: number): Promise<number>;
  /** Records a failure; returns the consecutive failures and the wait they impose from now. */
  fail(key: string, now?: number): Promise<{ failures: number; wait: number }>;
  /** Forgets the failures of `key` (it succeeded). */
  succeed(key: string): Promise<void>;
}

/**
 * Consecutive failures per key (an account name, a client address) and the wait they impose:
 * none until `freeAttempts` failures, then 1 s after that many, doubling with each further
 * failure up to `maxBackoffMs` after the last one. A success clears the key; a key quiet for four
 * times the longest wait is forgotten.
 * Memory is bounded: beyond `maxKeys` the least recently failed keys are dropped (an attacker
 * spraying keys only forgets their own).
 */
export class FailureBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds to wait before another attempt under `key`; 0 if it may try now. */
  waitFor(key: string, now = Date.now()): number {
    const entry = this.current(key, now);
    return entry ? Math.max(0, entry.until - now) : 0;
  }

  /** Records a failure; returns the wait it imposes from now (0 while attempts are free). */
  fail(key: string, now = Date.now()): number {
    const failures = (this.current(key, now)?.failures ?? 0) + 1;
    const wait = waitAfter(failures, this.policy);
    this.entries.delete(key);
    this.entries.set(key, { failures, until: now + wait, last: now });
    if (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return wait;
  }

  /** Forgets the failures of `key` (it succeeded). */
  succeed(key: string): void {
    this.entries.delete(key);
  }

  /** Consecutive failures recorded for `key`. */
  failures(key: string, now = Date.now()): number {
    return this.current(key, now)?.failures ?? 0;
  }

  private current(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && now - entry.last > 4 * this.policy.maxBackoffMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

/** A {@link FailureCounter} in this process's memory (one DTR process; tests). */
export class MemoryFailureCounter implements FailureCounter {
  private readonly backoff: FailureBackoff;

  constructor(policy: BackoffPolicy, maxKeys?: number) {
    this.backoff = new FailureBackoff(policy, maxKeys);
  }

  waitFor(key: string, now = Date.now()): Promise<number> {
    return Promise.resolve(this.backoff.waitFor(key, now));
  }

  fail(key: string, now = Date.now()): Promise<{ failures: number; wait: number }> {
    const wait = this.backoff.fail(key, now);
    return Promise.resolve({ failures: this.backoff.failures(key, now), wait });
  }

  succeed(key: string): Promise<void> {
    this.backoff.succeed(key);
    return Promise.resolve();
  }
}

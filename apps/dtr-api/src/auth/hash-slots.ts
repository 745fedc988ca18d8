import { RegistryError } from '@dtr-cache/registry-protocol';

/**
 * Runs expensive work (password hashes) at most `concurrency` at a time, with at most `queueLimit`
 * waiting: scrypt runs on libuv's thread pool, which file reads of every request share, so logins
 * must not take all of it (or all cores) however many arrive at once.
 */
export class HashSlots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly queueLimit: number,
  ) {}

  /**
   * Runs `work` once a slot is free.
   * @throws RegistryError `TOOMANYREQUESTS` (Retry-After 1) when the queue is full.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) {
        throw new RegistryError('TOOMANYREQUESTS', 'too many password checks at once, retry soon', {
          headers: { 'Retry-After': '1' },
          detail: { retryAfterSeconds: 1 },
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }

  /** Work running now and waiting (for tests and metrics). */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}

import type { StorageDriver } from '@dtr-cache/blob-store';
import type { Logger } from '@dtr-cache/logging';

/** `health.storagedriver`: how often the storage is checked and how many failures count. */
export interface StorageHealthOptions {
  readonly intervalMs: number;
  /** Failed checks in a row that make the server unhealthy. */
  readonly threshold: number;
  /** `storage.maintenance.readonly`: the check only reads (a stat), it writes nothing. */
  readonly readOnly?: boolean;
}

const PROBE = Buffer.from('content-cache storage health probe\n');

/**
 * The registry's storage driver health check: every interval a small temp file is written,
 * synced, read back and discarded (in read-only mode, a stat only). A check that takes longer
 * than an interval (a hung disk) fails. After `threshold` failures in a row the storage is
 * unhealthy (the health endpoints answer 503 with the reason) until a check passes again.
 */
export class StorageHealthCheck {
  private failures = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: StorageHealthOptions,
    private readonly logger: Logger,
  ) {}

  /** Why the storage is unhealthy, or undefined while it is not. */
  get problem(): string | undefined {
    if (this.failures < this.options.threshold) return undefined;
    return `storage check failed ${this.failures} times in a row: ${this.lastError ?? 'unknown error'}`;
  }

  /** Checks now, then every interval. */
  start(): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check (a check already under way is joined, not doubled). */
  check(): Promise<void> {
    this.running ??= this.probe().finally(() => (this.running = undefined));
    return this.running;
  }

  private async probe(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.options.intervalMs} ms`)),
        Math.max(this.options.intervalMs, 1000),
      );
    });
    try {
      await Promise.race([this.options.readOnly ? this.stat() : this.writeAndRead(), timeout]);
      if (this.failures >= this.options.threshold)
        this.logger.info('storage healthy again', { failures: this.failures });
      this.failures = 0;
      this.lastError = undefined;
    } catch (error) {
      this.failures += 1;
      this.lastError = error instanceof Error ? error.message : String(error);
      if (this.failures === this.options.threshold)
        this.logger.error('storage unhealthy', { failures: this.failures, error });
    } finally {
      clearTimeout(timer);
    }
  }

  private async writeAndRead(): Promise<void> {
    const file = await this.driver.createTemp();
    try {
      await file.write([PROBE]);
      await file.sync();
      const back = await file.readAt(0, PROBE.length);
      if (!back.equals(PROBE)) throw new Error('the probe file read back differs');
    } finally {
      await file.discard();
    }
  }

  private async stat(): Promise<void> {
    await this.driver.stat('health-probe');
  }
}

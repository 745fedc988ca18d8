import type { StorageDriver } from '@dtr-cache/blob-store';
import type { Logger } from '@dtr-cache/logging';

/** `storage.maintenance.uploadpurging`, in milliseconds. */
export interface TempFilePurgeOptions {
  readonly ageMs: number;
  readonly intervalMs: number;
  /** Only logs what would be removed. */
  readonly dryRun: boolean;
}

/**
 * Upload purging for a content cache: the temp files of fills not written for `age` (a fill
 * whose process died, or one stalled past every timeout) are removed every interval. A fill
 * under way writes all the time, and is never that old. Run by one process per store (the
 * primary with several workers).
 */
export class TempFilePurger {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: TempFilePurgeOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.purge(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One purge; resolves to the files removed (or, in a dry run, that would be). */
  async purge(now = Date.now()): Promise<number> {
    let stale = 0;
    let bytes = 0;
    try {
      const removed = await this.driver.removeTempFiles((file) => {
        const old = now - file.modifiedAt.getTime() >= this.options.ageMs;
        if (old) {
          stale += 1;
          bytes += file.size;
          if (this.options.dryRun)
            this.logger.info('stale temp file', { key: file.key, size: file.size });
        }
        return !old || this.options.dryRun;
      });
      if (stale > 0)
        this.logger.info(this.options.dryRun ? 'temp files would be purged' : 'temp files purged', {
          files: this.options.dryRun ? stale : removed,
          bytes,
        });
      return this.options.dryRun ? stale : removed;
    } catch (error) {
      this.logger.warn('temp file purge failed', { error });
      return 0;
    }
  }
}

import type { Logger } from '@dtr-cache/logging';
import type { GarbageCollectionResult, GarbageCollector } from './garbage-collector';
import type { GarbageCollectionConfig } from './gc-config';

/** Options of {@link GarbageCollectionScheduler}. */
export interface GarbageCollectionSchedulerOptions {
  /** Time between the end of one turn and the start of the next (the first: after one interval). */
  readonly intervalMs: number;
  /** One run; it should stop soon once `signal` aborts. */
  readonly collect: (signal: AbortSignal) => Promise<GarbageCollectionResult>;
  readonly logger: Logger;
}

/**
 * Runs garbage collection periodically in a DTR process (`garbagecollection.schedule`): one turn
 * every interval, never two at once in the process; a turn another run (another replica, or the
 * command) holds the lock for is skipped. Logs each turn's outcome; never throws.
 */
export class GarbageCollectionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private stopped = false;

  constructor(private readonly options: GarbageCollectionSchedulerOptions) {}

  /** Schedules the first turn, one interval from now. */
  start(): void {
    if (this.stopped || this.timer || this.running) return;
    this.schedule();
  }

  /** Stops scheduling, stops a turn under way (between two batches) and waits for it to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort(new Error('garbage collection stopped: the server is shutting down'));
    await this.running;
  }

  /** Runs one turn now (unless one is under way), then schedules the next. */
  async runNow(): Promise<void> {
    if (this.stopped) return;
    if (this.running) return this.running;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.turn().finally(() => {
      this.running = undefined;
      if (!this.stopped) this.schedule();
    });
    return this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.runNow(), this.options.intervalMs);
    this.timer.unref();
  }

  private async turn(): Promise<void> {
    const { logger } = this.options;
    try {
      const result = await this.options.collect(this.abort.signal);
      if (result.status === 'busy')
        logger.info('garbage collection skipped: another run holds the lock', {});
    } catch (error) {
      if (this.abort.signal.aborted) logger.info('garbage collection stopped', {});
      else logger.error('garbage collection failed', { error });
    }
  }
}

/**
 * The scheduler `config` asks for, running `collector` with the configured grace period (not
 * started); undefined when no schedule is configured.
 */
export function scheduledGarbageCollection(
  config: GarbageCollectionConfig,
  collector: Pick<GarbageCollector, 'run'>,
  logger: Logger,
): GarbageCollectionScheduler | undefined {
  if (config.schedule === undefined) return undefined;
  const graceMs = config.grace.milliseconds;
  return new GarbageCollectionScheduler({
    intervalMs: config.schedule.milliseconds,
    collect: (signal) => collector.run({ dryRun: false, graceMs, signal }),
    logger,
  });
}

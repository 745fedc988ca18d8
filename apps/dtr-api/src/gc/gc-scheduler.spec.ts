import { parseDuration } from '@dtr-cache/config';
import type { Logger } from '@dtr-cache/logging';
import { describe, expect, it } from 'vitest';
import type { GarbageCollectionReport, GarbageCollectionResult } from './garbage-collector';
import { GarbageCollectionScheduler, scheduledGarbageCollection } from './gc-scheduler';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (message: string) => void lines.push(message);
  return { lines, error: record, warn: record, info: record, debug: record };
}

const done: GarbageCollectionResult = {
  status: 'done',
  report: {} as GarbageCollectionReport,
};

describe('the garbage collection schedule', () => {
  it('runs a turn every interval, logs skipped and failed turns, and stops', async () => {
    const logger = recordingLogger();
    const outcomes: Array<() => Promise<GarbageCollectionResult>> = [
      async () => done,
      async () => ({ status: 'busy' }),
      async () => {
        throw new Error('database down');
      },
    ];
    let turns = 0;
    const scheduler = new GarbageCollectionScheduler({
      intervalMs: 20,
      collect: () => (outcomes[turns++] ?? (async () => done))(),
      logger,
    });
    scheduler.start();
    await sleep(5);
    expect(turns).toBe(0);
    await expect.poll(() => turns, { timeout: 2000 }).toBeGreaterThanOrEqual(4);
    await scheduler.stop();
    const after = turns;
    await sleep(80);
    expect(turns).toBe(after);
    expect(logger.lines).toContain('garbage collection skipped: another run holds the lock');
    expect(logger.lines).toContain('garbage collection failed');
  });

  it('stops a turn under way and waits for it to end', async () => {
    const logger = recordingLogger();
    let signalled: AbortSignal | undefined;
    let ended = false;
    const scheduler = new GarbageCollectionScheduler({
      intervalMs: 60_000,
      collect: async (signal) => {
        signalled = signal;
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        await sleep(20);
        ended = true;
        signal.throwIfAborted();
        return done;
      },
      logger,
    });
    scheduler.start();
    const turn = scheduler.runNow();
    await expect.poll(() => signalled).toBeDefined();
    await scheduler.stop();
    expect(ended).toBe(true);
    await turn;
    expect(logger.lines).toEqual(['garbage collection stopped']);
    // Stopped for good: nothing runs any more.
    await scheduler.runNow();
    scheduler.start();
    expect(logger.lines).toHaveLength(1);
  });

  it('is made from the configuration only when a schedule is set, with its grace period', async () => {
    const runs: unknown[] = [];
    const collector = { run: async (options: unknown) => (runs.push(options), done) };
    const logger = recordingLogger();
    const grace = parseDuration('90m');
    expect(scheduledGarbageCollection({ schedule: undefined, grace }, collector, logger)).toBe(
      undefined,
    );
    const scheduler = scheduledGarbageCollection(
      { schedule: parseDuration('24h'), grace },
      collector,
      logger,
    );
    await scheduler?.runNow();
    await scheduler?.stop();
    expect(runs).toEqual([
      { dryRun: false, graceMs: 90 * 60_000, signal: expect.any(AbortSignal) },
    ]);
  });
});

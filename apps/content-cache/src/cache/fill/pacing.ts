import type { FillState } from './fill-state';

/**
 * Bytes a fill may have waiting for the disk before it stops reading from upstream. Stopping at
 * the writer's own high-water mark would pause the upstream socket on every write, and each
 * resume waits for the upstream to start sending again; the budget bounds memory instead.
 */
export const WRITE_BACKLOG = 16 * 1024 * 1024;
/**
 * A fill that keeps nothing has no file for clients behind its window: it reads from upstream at
 * most this far ahead of its fastest client (an upstream faster than every client would otherwise
 * leave them all behind, each then making its own download).
 */
export const TRANSIENT_LEAD = 8 * 1024 * 1024;

/**
 * When the download may read on from upstream: undefined at once (the common case costs no
 * wait), else a promise that resolves once the sink's backlog is under {@link WRITE_BACKLOG}
 * and, for a fill that keeps nothing, its fastest client is within {@link TRANSIENT_LEAD}.
 * @throws (rejects) if the sink failed, or if a fill that keeps nothing has no client left.
 */
export function readOnWhen(fill: FillState): Promise<void> | undefined {
  if (fill.sink.writableLength < WRITE_BACKLOG && (fill.kept || fastestIsNear(fill)))
    return undefined;
  return waitToReadOn(fill);
}

async function waitToReadOn(fill: FillState): Promise<void> {
  await backlogShrunk(fill);
  if (!fill.kept) await fastestCaughtUp(fill);
}

/**
 * Waits until the sink's backlog is under the budget (each completed write, failed ones
 * included, signals); throws if the sink failed.
 */
async function backlogShrunk({ sink, signal }: FillState): Promise<void> {
  for (;;) {
    if (sink.errored || sink.destroyed)
      throw sink.errored ?? new Error('the blob writer was closed');
    if (sink.writableLength < WRITE_BACKLOG) return;
    await signal.changed;
  }
}

/** True if the fastest client is within the lead; throws when no client reads the fill. */
function fastestIsNear(fill: FillState): boolean {
  const fastest = fill.positions.fastest();
  if (fastest < 0) throw new Error('no client reads the download any more');
  return fill.window.received - fastest < TRANSIENT_LEAD;
}

/** Waits until the fastest client is within the lead (each client's progress signals). */
async function fastestCaughtUp(fill: FillState): Promise<void> {
  while (!fastestIsNear(fill)) await fill.signal.changed;
}

import type { StatsCounters } from '../cache-stats';

/**
 * What the cache's worker processes and their primary say to each other (Node's cluster IPC, as
 * JSON). A fill is shared across workers by its digest: the first worker to claim it downloads it
 * (its owner) and reports its progress; the primary relays that to the workers that joined, which
 * read the owner's file as it is written.
 */

/** The state of a fill as the owner last reported it. */
export interface SharedFillState {
  /** The storage key of the owner's file (see `TailableBlobStore.tailWriter`). */
  readonly key: string;
  readonly size: number;
  /** Bytes the owner has stored so far. */
  readonly written: number;
  /** Size and digest matched: the last bytes may be sent. */
  readonly verified: boolean;
  /** How the fill ended, once it has. */
  readonly ended?: FillEnd;
}

/**
 * How a fill ended: `committed` (stored: read it from the store), `failed` (its clients are cut
 * off), or `abandoned`: the owner died, its disk filled up, or it kept nothing — a joiner carries
 * its clients on from a new fill (see `RemoteFill`).
 */
export type FillEnd = 'committed' | 'failed' | 'abandoned';

/** An owner's report of its fill. */
export type FillUpdate =
  | { readonly type: 'started'; readonly key: string; readonly size: number }
  | { readonly type: 'written'; readonly bytes: number }
  | { readonly type: 'verified' }
  | { readonly type: 'ended'; readonly end: FillEnd };

export type WorkerMessage =
  /** Asks to fill `digest` (answered by `fill-claimed`). */
  | { readonly kind: 'fill-claim'; readonly id: number; readonly digest: string }
  | { readonly kind: 'fill-update'; readonly digest: string; readonly update: FillUpdate }
  /** Blobs pulled from the store (for expiry), with their sizes. */
  | { readonly kind: 'pulled'; readonly blobs: ReadonlyArray<readonly [string, number]> }
  | { readonly kind: 'stored'; readonly digest: string; readonly size: number }
  /** Asks for the metrics of all workers (answered by `metrics`). */
  | { readonly kind: 'metrics-request'; readonly id: number }
  /** Asks how many fills are under way in all workers (answered by `fills`). */
  | { readonly kind: 'fills-request'; readonly id: number }
  /** What this worker counted since it started (every second, for the stats answer). */
  | { readonly kind: 'stats-report'; readonly counters: StatsCounters }
  /** Asks for all workers' counters and the store's size (answered by `stats`). */
  | { readonly kind: 'stats-request'; readonly id: number };

export type PrimaryMessage =
  | {
      readonly kind: 'fill-claimed';
      readonly id: number;
      /** Undefined: this worker owns the fill. Else the owner's fill, started (or ended). */
      readonly joined?: SharedFillState;
    }
  | { readonly kind: 'fill-update'; readonly digest: string; readonly update: FillUpdate }
  | { readonly kind: 'metrics'; readonly id: number; readonly text: string }
  | { readonly kind: 'fills'; readonly id: number; readonly count: number }
  | {
      readonly kind: 'stats';
      readonly id: number;
      /** All workers' counters as they last reported them. */
      readonly counters: StatsCounters;
      /** Fills under way in all workers. */
      readonly fillsInFlight: number;
      /** The store's bytes and blobs, where the primary's expiry tracks them. */
      readonly stored: { readonly bytes: number; readonly blobs: number } | null;
      /** When the primary started (ISO 8601). */
      readonly startedAt: string;
    }
  /** Expiry deleted the blob: a worker drops what it holds of it (its memory tier's copy). */
  | { readonly kind: 'blob-removed'; readonly digest: string };

/** True if `message` is one of the cache's own (cluster IPC also carries Node's and prom-client's). */
export function isCacheMessage(message: unknown): message is { kind: string } {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { kind?: unknown }).kind === 'string'
  );
}

import type { BlobStore } from '@dtr-cache/blob-store';
import type { Logger } from '@dtr-cache/logging';
import type { Digest } from '@dtr-cache/registry-protocol';
import type { Database, DatabaseEngine } from '../store/schema';
import { acquireGcLock, type GcLockOptions } from './gc-lock';
import { GcStore } from './gc-store';
import { ReferenceMarker } from './mark';
import { BlobSweeper, type SweepableBlobStore } from './sweep';

/** A blob garbage collection removed (or, in a dry run, would remove). */
export interface CollectedBlob {
  readonly digest: string;
  readonly size: number;
}

/** Options of one run. */
export interface GarbageCollectionOptions {
  /** List what would be removed, and remove nothing. */
  readonly dryRun: boolean;
  /** Blobs stored, linked or used by a push within this long before the run started are kept. */
  readonly graceMs: number;
  /** Stops the run (between two batches); it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called with each blob removed (or that a dry run would remove), as it is. */
  readonly onBlob?: (blob: CollectedBlob) => void;
  /** Called once the candidates are listed, before they are swept (tests push there). */
  readonly beforeSweep?: () => Promise<void>;
}

/** What a run did. */
export interface GarbageCollectionReport {
  readonly dryRun: boolean;
  readonly startedAt: Date;
  /** Blobs stored, linked or used since this were kept: the start less the grace period. */
  readonly cutoff: Date;
  /** Manifests read (the mark). */
  readonly manifests: number;
  /** Blobs in the store. */
  readonly blobs: number;
  /** Blobs removed (a dry run: that it would remove). */
  readonly removed: readonly CollectedBlob[];
  /** Their bytes. */
  readonly bytes: number;
  /** Blobs no manifest keeps that were kept: stored, linked or used within the grace period. */
  readonly kept: number;
}

/** A run's result: its report, or `busy` when another run holds the lock. */
export type GarbageCollectionResult =
  | { readonly status: 'done'; readonly report: GarbageCollectionReport }
  | { readonly status: 'busy' };

/** What the collector works on. */
export interface GarbageCollectorDependencies {
  readonly database: Database;
  readonly engine: DatabaseEngine;
  readonly blobs: Pick<BlobStore, 'list' | 'open'> & SweepableBlobStore;
  readonly logger: Logger;
  readonly lock?: GcLockOptions;
}

/** Candidates swept between two checks of the lock, the signal and manifests pushed meanwhile. */
const BATCH = 100;
/** Clock skew allowed between the replicas stamping `created_at` and this process. */
const SKEW_MS = 5 * 60_000;

/**
 * Garbage collection of DTR's blobs (docs/garbage-collection.md): mark what every manifest keeps,
 * then sweep every stored blob nothing keeps, unless a push stored, linked or used it within the
 * grace period or does so during the run (see {@link BlobSweeper}). One run at a time across all
 * processes sharing the database (see acquireGcLock).
 */
export class GarbageCollector {
  private readonly store: GcStore;

  constructor(private readonly dependencies: GarbageCollectorDependencies) {
    this.store = new GcStore(dependencies.database);
  }

  /**
   * Runs once, now; `busy` without doing anything if another run holds the lock.
   * @throws UnreadableManifestError (nothing deleted), GcLockLostError, the signal's reason.
   */
  async run(options: GarbageCollectionOptions): Promise<GarbageCollectionResult> {
    const { database, engine, logger } = this.dependencies;
    const lock = await acquireGcLock(database, engine, this.dependencies.lock);
    if (!lock) return { status: 'busy' };
    try {
      const startedAt = new Date();
      const cutoff = new Date(startedAt.getTime() - options.graceMs);
      logger.info('garbage collection started', {
        dryRun: options.dryRun,
        graceMs: options.graceMs,
        cutoff: cutoff.toISOString(),
      });
      const stamped = options.dryRun ? 0 : await this.store.stampUntimedLinks(startedAt);
      if (stamped > 0) logger.info('untimed blob links stamped', { links: stamped });
      const marker = new ReferenceMarker(this.store, this.dependencies.blobs);
      await marker.markAll(options.signal);
      const candidates: Array<{ digest: Digest; size: number }> = [];
      let blobs = 0;
      let kept = 0;
      for await (const blob of this.dependencies.blobs.list()) {
        blobs += 1;
        if (marker.referenced.has(blob.digest.toString())) continue;
        if (blob.lastAccessedAt.getTime() >= cutoff.getTime()) kept += 1;
        else candidates.push({ digest: blob.digest, size: blob.size });
      }
      await options.beforeSweep?.();
      const removed: CollectedBlob[] = [];
      const sweeper = new BlobSweeper(this.store, this.dependencies.blobs);
      let pushedSince = new Date(cutoff.getTime() - SKEW_MS);
      for (let start = 0; start < candidates.length; start += BATCH) {
        options.signal?.throwIfAborted();
        await lock.check();
        // Manifests pushed since the mark (by an older release, which stamps no links) keep theirs.
        const checkedAt = new Date();
        await marker.markPushedSince(pushedSince);
        pushedSince = new Date(checkedAt.getTime() - SKEW_MS);
        for (const candidate of candidates.slice(start, start + BATCH)) {
          const collected = await this.collect(candidate, cutoff, options, marker, sweeper);
          if (collected === 'kept') kept += 1;
          else if (collected !== 'gone') {
            removed.push(collected);
            options.onBlob?.(collected);
          }
        }
      }
      const report: GarbageCollectionReport = {
        dryRun: options.dryRun,
        startedAt,
        cutoff,
        manifests: marker.manifests,
        blobs,
        removed,
        bytes: removed.reduce((total, blob) => total + blob.size, 0),
        kept,
      };
      logger.info('garbage collection finished', {
        dryRun: report.dryRun,
        manifests: report.manifests,
        blobs: report.blobs,
        removed: report.removed.length,
        bytes: report.bytes,
        kept: report.kept,
        durationMs: Date.now() - startedAt.getTime(),
      });
      return { status: 'done', report };
    } finally {
      await lock.release();
    }
  }

  /** Removes one candidate (a dry run: checks it would), or says why not. */
  private async collect(
    candidate: { digest: Digest; size: number },
    cutoff: Date,
    options: GarbageCollectionOptions,
    marker: ReferenceMarker,
    sweeper: BlobSweeper,
  ): Promise<CollectedBlob | 'kept' | 'gone'> {
    const digest = candidate.digest.toString();
    if (marker.referenced.has(digest)) return 'kept';
    if (options.dryRun)
      return (await this.store.hasRecentLink(digest, cutoff))
        ? 'kept'
        : { digest, size: candidate.size };
    const outcome = await sweeper.sweep(candidate.digest, cutoff);
    if (outcome.kind !== 'deleted') return outcome.kind;
    this.dependencies.logger.debug('blob deleted', { digest, size: outcome.size });
    return { digest, size: outcome.size };
  }
}

import type { Logger } from '@dtr-cache/logging';
import { Digest } from '@dtr-cache/registry-protocol';
import type { BlobExpiry } from '../cache/blob-expiry';
import { WorkerCounters } from '../cache-stats';
import { isCacheMessage, type WorkerMessage } from './cluster-messages';
import type { CoordinatedWorker, FillCoordinator } from './fill-coordinator';

/** What the primary answers its workers' requests with. */
export interface PrimaryHubParts {
  readonly logger: Logger;
  /** One fill per digest across the workers. */
  readonly coordinator: FillCoordinator;
  /** Expiry of the whole store, fed by the workers' pulls and stores (none: no expiry). */
  readonly expiry?: BlobExpiry;
  /** The metrics of all workers, aggregated (Prometheus text). */
  aggregateMetrics(): Promise<string>;
}

/**
 * The primary's side of its workers' messages, whatever carries them (Node's cluster IPC, or an
 * in-process channel in tests): fill claims and reports to the {@link FillCoordinator}, pulls and
 * stores to expiry, the workers' counters, and the answers to requests for metrics, fill counts
 * and stats.
 */
export class PrimaryHub {
  private readonly counters = new WorkerCounters();
  private readonly startedAt = new Date();

  constructor(private readonly parts: PrimaryHubParts) {}

  /** Handles a message of worker `from` (anything not the cache's own is ignored). */
  receive(from: CoordinatedWorker, message: unknown): void {
    if (!isCacheMessage(message)) return;
    const { coordinator, expiry, logger } = this.parts;
    const received = message as WorkerMessage;
    switch (received.kind) {
      case 'fill-claim':
        coordinator.claim(from, received.id, received.digest);
        break;
      case 'fill-update':
        coordinator.update(from, received.digest, received.update);
        break;
      case 'pulled':
        for (const [digest, size] of received.blobs) {
          const parsed = Digest.tryParse(digest);
          if (parsed) expiry?.reading(parsed, size)();
        }
        break;
      case 'stored': {
        const parsed = Digest.tryParse(received.digest);
        if (parsed) expiry?.stored(parsed, received.size);
        break;
      }
      case 'stats-report':
        this.counters.report(from.id, received.counters);
        break;
      case 'stats-request': {
        const stats = expiry?.stats;
        from.send({
          kind: 'stats',
          id: received.id,
          counters: this.counters.total(),
          fillsInFlight: coordinator.size,
          stored: stats ? { bytes: stats.bytes, blobs: stats.blobs } : null,
          startedAt: this.startedAt.toISOString(),
        });
        break;
      }
      case 'fills-request':
        from.send({ kind: 'fills', id: received.id, count: coordinator.size });
        break;
      case 'metrics-request':
        void this.parts.aggregateMetrics().then(
          (text) => from.send({ kind: 'metrics', id: received.id, text }),
          (error: unknown) => {
            logger.warn('metrics could not be aggregated', { error });
            from.send({ kind: 'metrics', id: received.id, text: '' });
          },
        );
        break;
    }
  }

  /** A worker is gone: the fills it owned are abandoned. */
  workerExited(worker: CoordinatedWorker): void {
    this.parts.coordinator.workerExited(worker);
    this.counters.exited(worker.id);
  }
}

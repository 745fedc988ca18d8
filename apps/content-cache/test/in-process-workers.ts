/**
 * A cache of several workers inside the test process, run as `workers` runs it in processes: a
 * primary's {@link PrimaryHub} (one fill per digest, expiry of the whole store, metrics of all),
 * and workers with services of their own over the same store, talking to it through channels
 * that deliver each message later, serialized, in order (as Node's cluster IPC does). The
 * integration suites run on it with one worker and with several.
 */
import { openBlobStore } from '@dtr-cache/blob-store';
import type { Logger } from '@dtr-cache/logging';
import { AggregatorRegistry } from 'prom-client';
import { BlobExpiry } from '../src/cache/blob-expiry';
import {
  type BuiltCacheServices,
  buildCacheServices,
  type CacheServicesOptions,
} from '../src/cache-services';
import type { PrimaryMessage, WorkerMessage } from '../src/cluster/cluster-messages';
import { type CoordinatedWorker, FillCoordinator } from '../src/cluster/fill-coordinator';
import { PrimaryHub } from '../src/cluster/primary-hub';
import { PrimaryLink, type WorkerChannel } from '../src/cluster/primary-link';

/** The workers and their primary's expiry, built and ready; nothing is listening yet. */
export interface InProcessWorkers {
  readonly workers: readonly BuiltCacheServices[];
  /** The primary's expiry of the whole store (not started). */
  readonly expiry: BlobExpiry | undefined;
  release(): Promise<void>;
}

/** Serialized and delivered later, as a message through IPC is. */
function deliverLater<T>(message: unknown, to: (message: T) => void): void {
  const copy = JSON.parse(JSON.stringify(message)) as T;
  setImmediate(() => to(copy));
}

/**
 * Builds `count` workers over `driver`, worker `n`'s log lines from `loggerOf(n)` (0: the
 * primary's). The primary removes abandoned temp files first, as it does before forking.
 */
export async function buildInProcessWorkers(
  count: number,
  options: Omit<CacheServicesOptions, 'logger' | 'primary'>,
  loggerOf: (worker: number) => Logger,
): Promise<InProcessWorkers> {
  const primaryLogger = loggerOf(0);
  const store = await openBlobStore(options.driver);
  const handles: CoordinatedWorker[] = [];
  const expiry = options.expiry
    ? BlobExpiry.open(store, options.expiry, primaryLogger, (digest) => {
        for (const handle of handles)
          handle.send({ kind: 'blob-removed', digest: digest.toString() });
      })
    : undefined;
  const coordinator = new FillCoordinator((key) => {
    void options.driver.removeTempFiles((file) => file.key !== key);
  });
  const workers: BuiltCacheServices[] = [];
  const hub = new PrimaryHub({
    logger: primaryLogger,
    coordinator,
    expiry,
    aggregateMetrics: async () =>
      AggregatorRegistry.aggregate(
        await Promise.all(workers.map((worker) => worker.metrics.registry.getMetricsAsJSON())),
      ).metrics(),
  });
  for (let id = 1; id <= count; id += 1) {
    const listeners: Array<(message: unknown) => void> = [];
    const handle: CoordinatedWorker = {
      id,
      send: (message: PrimaryMessage) =>
        deliverLater(message, (copy: unknown) => listeners.forEach((listener) => listener(copy))),
    };
    handles.push(handle);
    const channel: WorkerChannel = {
      connected: true,
      send: (message: WorkerMessage) => deliverLater(message, (copy) => hub.receive(handle, copy)),
      on: (_event, listener) => listeners.push(listener),
    };
    const link = new PrimaryLink(channel);
    workers.push(
      await buildCacheServices({
        ...options,
        expiry: undefined,
        logger: loggerOf(id),
        primary: link,
      }),
    );
  }
  return {
    workers,
    expiry,
    async release() {
      expiry?.stop();
      for (const worker of workers) await worker.release();
    },
  };
}

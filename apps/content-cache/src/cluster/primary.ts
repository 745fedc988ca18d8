import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { openBlobStore, type StorageDriver } from '@dtr-cache/blob-store';
import type { Logger } from '@dtr-cache/logging';
import { AggregatorRegistry } from 'prom-client';
import { BlobExpiry, type ExpiryOptions } from '../cache/blob-expiry';
import type { PrimaryMessage } from './cluster-messages';
import { type CoordinatedWorker, FillCoordinator } from './fill-coordinator';
import { PrimaryHub } from './primary-hub';
import { type TempFilePurgeOptions, TempFilePurger } from '../temp-file-purger';

/** What the primary of a cache with several workers runs with. */
export interface PrimaryOptions {
  readonly workers: number;
  readonly logger: Logger;
  /** The store's driver: the primary clears abandoned temp files and runs expiry on it. */
  readonly driver: StorageDriver;
  readonly expiry?: ExpiryOptions;
  /** `storage.maintenance.uploadpurging`, run by the primary for the whole store. */
  readonly purge?: TempFilePurgeOptions;
  /** How long the workers may take to drain on shutdown before they are killed. */
  readonly drainTimeoutMs: number;
}

/** A worker replaced after a crash waits this long, doubled for each crash in a row… */
const RESTART_DELAY_MS = 500;
/** …up to this. */
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that ran this long without crashing resets the delay. */
const STABLE_MS = 10_000;

/** How long past the drain timeout a stop may take (workers killed at +5 s) before the primary exits 1. */
const STOP_MARGIN_MS = 15_000;

/** The store's index is read at the latest this long after start, whether or not all listen. */
const INDEX_LOAD_DELAY_LIMIT_MS = 10_000;

/** Resolves once `count` workers listen, or after `limitMs`. */
function workersListening(count: number, limitMs: number): Promise<void> {
  return new Promise((resolve) => {
    let listening = 0;
    const timer = setTimeout(done, limitMs);
    timer.unref();
    function done() {
      clearTimeout(timer);
      cluster.off('listening', onListening);
      resolve();
    }
    function onListening() {
      listening += 1;
      if (listening >= count) done();
    }
    cluster.on('listening', onListening);
  });
}

/**
 * The primary process of a cache with several workers: it serves no request itself. It clears
 * the store's abandoned temp files once, before any worker starts (a worker never removes
 * another's); starts the workers, which share the listening socket (Node's cluster); coordinates
 * their fills (one download per digest, see {@link FillCoordinator}); runs expiry for the whole
 * store from the pulls and stores the workers report; aggregates their metrics; replaces a worker
 * that dies (removing only the files of its fills), with backoff; and on SIGTERM or SIGINT has
 * every worker drain, then exits.
 */
export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { logger, driver } = options;
  const store = await openBlobStore(driver, {
    onTempFilesRemoved: (count) => count > 0 && logger.info('stale temp files removed', { count }),
  });
  const broadcast = (message: PrimaryMessage) => {
    for (const worker of Object.values(cluster.workers ?? {}))
      if (worker?.isConnected()) worker.send(message);
  };
  const expiry = options.expiry
    ? BlobExpiry.open(
        store,
        options.expiry,
        logger,
        (digest) => broadcast({ kind: 'blob-removed', digest: digest.toString() }),
        // The store is read once the workers listen: on a large store it would take the CPU they
        // start with (a million blobs: the first answer 2.1 s instead of 1.5).
        workersListening(options.workers, INDEX_LOAD_DELAY_LIMIT_MS),
      )
    : undefined;
  expiry?.start();
  const purger = options.purge && new TempFilePurger(driver, options.purge, logger);
  purger?.start();
  // Only unlinked (not `store.discard`, which truncates first): the dead owner's clients on other
  // workers still read what it wrote, through descriptors of their own.
  const coordinator = new FillCoordinator((key) => {
    void driver
      .removeTempFiles((file) => file.key !== key)
      .catch((error: unknown) => logger.warn('abandoned fill file not removed', { key, error }));
  });
  const aggregator = new AggregatorRegistry();
  const handles = new Map<number, CoordinatedWorker>();
  const handleOf = (worker: Worker): CoordinatedWorker => {
    let handle = handles.get(worker.id);
    if (!handle) {
      handle = {
        id: worker.id,
        send: (message: PrimaryMessage) => {
          if (worker.isConnected()) worker.send(message);
        },
      };
      handles.set(worker.id, handle);
    }
    return handle;
  };

  const hub = new PrimaryHub({
    logger,
    coordinator,
    expiry,
    aggregateMetrics: () => aggregator.clusterMetrics(),
  });
  cluster.on('message', (worker, message: unknown) => hub.receive(handleOf(worker), message));

  // Workers run this very module (the launcher's bundle, with the same Node options): not the
  // launcher again, which would bundle the sources once more for each.
  cluster.setupPrimary({ exec: fileURLToPath(import.meta.url), args: process.argv.slice(2) });
  let stopping = false;
  let delay = RESTART_DELAY_MS;
  const startedAt = new Map<number, number>();
  // The workers started and not exited yet: what a stop waits for. Not `cluster.workers`: Node
  // drops a worker from it only once its process exited and its IPC channel closed, and the channel
  // may close after the 'exit' event, so the last worker can still be listed when it is handled.
  const live = new Set<number>();
  const fork = () => {
    const worker = cluster.fork();
    // A message sent to a worker that died as it was sent fails with EPIPE, as an 'error' event of
    // the worker: without a listener it would end the primary, and every worker with it.
    worker.on('error', (error: Error) =>
      logger.warn('message to a worker failed', { worker: worker.id, error: error.message }),
    );
    live.add(worker.id);
    startedAt.set(worker.id, Date.now());
    logger.info('worker started', { worker: worker.id, pid: worker.process.pid });
  };
  cluster.on('exit', (worker, code, signal) => {
    hub.workerExited(handleOf(worker));
    handles.delete(worker.id);
    live.delete(worker.id);
    if (stopping) {
      if (live.size === 0) finish();
      return;
    }
    const ranMs = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    delay = ranMs >= STABLE_MS ? RESTART_DELAY_MS : Math.min(delay * 2, MAX_RESTART_DELAY_MS);
    logger.warn('worker exited, replacing it', { worker: worker.id, code, signal, delayMs: delay });
    setTimeout(() => {
      if (!stopping) fork();
    }, delay).unref();
  });

  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    expiry?.stop();
    purger?.stop();
    driver.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('stop failed', { stage: 'releasing', error });
        process.exit(1);
      },
    );
  };
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const workers = Object.values(cluster.workers ?? {}).filter(
      (worker): worker is Worker => worker !== undefined && live.has(worker.id),
    );
    if (live.size === 0) finish();
    for (const worker of workers) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of workers) if (live.has(worker.id)) worker.process.kill('SIGKILL');
    }, options.drainTimeoutMs + 5_000).unref();
    // Bounded like a worker's stop: a primary whose workers or store never let go exits anyway.
    setTimeout(() => {
      logger.error('stop did not finish in time', {
        stage: finished ? 'releasing' : 'closing',
        workers: live.size,
      });
      process.exit(1);
    }, options.drainTimeoutMs + STOP_MARGIN_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (let index = 0; index < options.workers; index += 1) fork();
}

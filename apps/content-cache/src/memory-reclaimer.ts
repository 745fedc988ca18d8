import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { releaseFreeMemory } from '@dtr-cache/native-memory';

/** How long after a collection its finalizers (which free the native state) have run. */
const TRIM_AFTER_COLLECTION_MS = 200;

/** V8's collector, as `--expose-gc` (server-runtime.json) makes it available. */
type Collector = (options: { type: 'major'; execution: 'async' }) => unknown;

/**
 * Gives memory back after many connections closed: a full garbage collection, then the C heap's
 * free pages returned to the system.
 *
 * A closed TLS connection's native state (OpenSSL's objects and buffers, about 100 KB) is freed
 * only when V8 collects the JavaScript object holding it, and V8 collects by the size of its own
 * heap, which a wave of closing connections barely grows. Once freed, glibc keeps those pages
 * resident because they lie between allocations still in use: measured on los-angeles (TLS),
 * 1000 stalled readers that went away left 80 MB resident, and each further wave of them added
 * 15-30 MB more. With a collection and `malloc_trim` after the wave, the cache went back to its
 * idle size (±10 MB) after every wave.
 *
 * At most once per `afterMs`, after the `threshold`-th close since the last time. The collection
 * runs concurrently (`execution: 'async'`); the trim follows once its finalizers ran. Without a
 * collector (`--expose-gc` not given, as in tests) it only trims.
 */
export class MemoryReclaimer {
  private closed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly threshold = 256,
    private readonly afterMs = 1000,
    private readonly collect: Collector | undefined = (globalThis as { gc?: Collector }).gc,
    private readonly release: () => boolean = releaseFreeMemory,
  ) {}

  /** Counts `server`'s connections as they close. */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) =>
      socket.once('close', () => this.connectionClosed()),
    );
  }

  /** Collections asked for so far (for tests). */
  collections = 0;

  private connectionClosed(): void {
    this.closed += 1;
    if (this.closed < this.threshold || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.closed = 0;
      this.collections += 1;
      void Promise.resolve(this.collect?.({ type: 'major', execution: 'async' }))
        .then(() => new Promise((resolve) => setTimeout(resolve, TRIM_AFTER_COLLECTION_MS)))
        .then(() => this.release());
    }, this.afterMs);
    this.timer.unref();
  }
}

import { Digest } from '@dtr-cache/registry-protocol';
import type { StatsCounters } from '../cache-stats';
import {
  isCacheMessage,
  type PrimaryMessage,
  type SharedFillState,
  type WorkerMessage,
} from './cluster-messages';

/** What carries a worker's messages to its primary and back (the process's cluster IPC). */
export interface WorkerChannel {
  readonly connected: boolean;
  send?(message: WorkerMessage): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** Pulls are reported to the primary in batches, this often. */
const PULL_BATCH_MS = 1000;

/**
 * A worker's line to its primary (Node's cluster IPC): fill claims and reports, pulls and stores
 * for the primary's expiry (pulls batched, one report per blob a second), and the metrics of all
 * workers. Fill reports of other workers are handed to `onFillUpdate`.
 */
export class PrimaryLink {
  private nextId = 1;
  /** Requests awaiting the primary's answer, by id: each takes the answer. */
  private readonly pending = new Map<number, (answer: Answer) => void>();
  private pulls = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private fillUpdate:
    ((message: Extract<PrimaryMessage, { kind: 'fill-update' }>) => void) | undefined;

  constructor(private readonly channel: WorkerChannel = process) {
    channel.on('message', (message: unknown) => {
      if (isCacheMessage(message)) this.handle(message as PrimaryMessage);
    });
    this.timer = setInterval(() => {
      this.flushPulls();
      this.reportCounters();
    }, PULL_BATCH_MS);
    this.timer.unref();
  }

  private blobRemoved: ((digest: Digest) => void) | undefined;
  private counters: (() => Promise<StatsCounters>) | undefined;

  /** Where this worker's counters are read for its report to the primary (every second). */
  reportCountersFrom(counters: () => Promise<StatsCounters>): void {
    this.counters = counters;
  }

  private reportCounters(): void {
    void this.counters?.().then(
      (counters) => this.send({ kind: 'stats-report', counters }),
      () => undefined,
    );
  }

  /**
   * All workers' counters as the primary holds them (each reported within a second), this
   * worker's reported now first, and the primary's facts.
   */
  async stats(): Promise<Extract<PrimaryMessage, { kind: 'stats' }>> {
    const own = await this.counters?.();
    if (own) this.send({ kind: 'stats-report', counters: own });
    const answer = await this.ask((id) => ({ kind: 'stats-request', id }));
    if (answer.kind !== 'stats') throw new Error('the primary did not answer with stats');
    return answer;
  }

  /** Called with each blob the primary's expiry deleted. */
  onBlobRemoved(handler: (digest: Digest) => void): void {
    this.blobRemoved = handler;
  }

  /** Where reports of fills owned by other workers go. */
  onFillUpdate(handler: (message: Extract<PrimaryMessage, { kind: 'fill-update' }>) => void): void {
    this.fillUpdate = handler;
  }

  send(message: WorkerMessage): void {
    if (this.channel.connected) this.channel.send?.(message);
  }

  /**
   * Claims the fill of `digest`: undefined if this worker owns it, else the owner's fill.
   * `answered` is called as the answer is handled, before reports that follow it are.
   */
  async claim(digest: Digest, answered?: () => void): Promise<SharedFillState | undefined> {
    const answer = await this.ask(
      (id) => ({ kind: 'fill-claim', id, digest: digest.toString() }),
      answered,
    );
    return answer.kind === 'fill-claimed' ? answer.joined : undefined;
  }

  /** The metrics of every worker, aggregated by the primary (Prometheus text). */
  async metrics(): Promise<string> {
    const answer = await this.ask((id) => ({ kind: 'metrics-request', id }));
    return answer.kind === 'metrics' ? answer.text : '';
  }

  /** Fills under way in all workers (until committed, or failed), as the primary counts them. */
  async fillsInProgress(): Promise<number> {
    const answer = await this.ask((id) => ({ kind: 'fills-request', id }));
    return answer.kind === 'fills' ? answer.count : 0;
  }

  /** Sends the request `message` makes with a new id; resolves with the primary's answer to it. */
  private ask(message: (id: number) => WorkerMessage, answered?: () => void): Promise<Answer> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, (answer) => {
        answered?.();
        resolve(answer);
      });
      this.send(message(id));
    });
  }

  /** A pull of a stored blob, reported with the next batch. */
  pulled(digest: Digest, size: number): void {
    this.pulls.set(digest.toString(), size);
  }

  stored(digest: Digest, size: number): void {
    this.send({ kind: 'stored', digest: digest.toString(), size });
  }

  close(): void {
    clearInterval(this.timer);
    this.flushPulls();
  }

  private flushPulls(): void {
    if (this.pulls.size === 0) return;
    const blobs = [...this.pulls];
    this.pulls = new Map();
    this.send({ kind: 'pulled', blobs });
  }

  private handle(message: PrimaryMessage): void {
    if (message.kind === 'fill-update') this.fillUpdate?.(message);
    else if (message.kind === 'blob-removed') {
      const digest = Digest.tryParse(message.digest);
      if (digest) this.blobRemoved?.(digest);
    } else {
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    }
  }
}

/** The primary's answers to a worker's requests. */
type Answer = Extract<PrimaryMessage, { kind: 'fill-claimed' | 'metrics' | 'fills' | 'stats' }>;

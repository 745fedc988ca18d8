import { Digest } from '@dtr-cache/registry-protocol';
import {
  isCacheMessage,
  type PrimaryMessage,
  type SharedFillState,
  type WorkerMessage,
} from './cluster-messages';

/** Pulls are reported to the primary in batches, this often. */
const PULL_BATCH_MS = 1000;

/**
 * A worker's line to its primary (Node's cluster IPC): fill claims and reports, pulls and stores
 * for the primary's expiry (pulls batched, one report per blob a second), and the metrics of all
 * workers. Fill reports of other workers are handed to `onFillUpdate`.
 */
export class PrimaryLink {
  private nextId = 1;
  private readonly claims = new Map<number, (joined: SharedFillState | undefined) => void>();
  private readonly metricsRequests = new Map<number, (text: string) => void>();
  private readonly fillsRequests = new Map<number, (count: number) => void>();
  private pulls = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private fillUpdate:
    ((message: Extract<PrimaryMessage, { kind: 'fill-update' }>) => void) | undefined;

  constructor(private readonly channel: NodeJS.Process = process) {
    channel.on('message', (message: unknown) => {
      if (isCacheMessage(message)) this.handle(message as PrimaryMessage);
    });
    this.timer = setInterval(() => this.flushPulls(), PULL_BATCH_MS);
    this.timer.unref();
  }

  private blobRemoved: ((digest: Digest) => void) | undefined;

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
  claim(digest: Digest, answered?: () => void): Promise<SharedFillState | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.claims.set(id, (joined) => {
        answered?.();
        resolve(joined);
      });
      this.send({ kind: 'fill-claim', id, digest: digest.toString() });
    });
  }

  /** The metrics of every worker, aggregated by the primary (Prometheus text). */
  metrics(): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.metricsRequests.set(id, resolve);
      this.send({ kind: 'metrics-request', id });
    });
  }

  /** Fills under way in all workers (until committed, or failed), as the primary counts them. */
  fillsInProgress(): Promise<number> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.fillsRequests.set(id, resolve);
      this.send({ kind: 'fills-request', id });
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
    if (message.kind === 'fill-claimed') {
      this.claims.get(message.id)?.(message.joined);
      this.claims.delete(message.id);
    } else if (message.kind === 'metrics') {
      this.metricsRequests.get(message.id)?.(message.text);
      this.metricsRequests.delete(message.id);
    } else if (message.kind === 'fills') {
      this.fillsRequests.get(message.id)?.(message.count);
      this.fillsRequests.delete(message.id);
    } else if (message.kind === 'fill-update') this.fillUpdate?.(message);
    else if (message.kind === 'blob-removed') {
      const digest = Digest.tryParse(message.digest);
      if (digest) this.blobRemoved?.(digest);
    }
  }
}

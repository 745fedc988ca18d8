import type { FillUpdate, PrimaryMessage, SharedFillState } from './cluster-messages';

/** A worker as the coordinator sees it: an id, and how to send it a message. */
export interface CoordinatedWorker {
  readonly id: number;
  send(message: PrimaryMessage): void;
}

interface Entry {
  readonly owner: number;
  state: { key: string; size: number; written: number; verified: boolean } | undefined;
  /** Workers reading the fill, to relay the owner's reports to. */
  readonly joiners: Set<CoordinatedWorker>;
  /** Claims answered once the owner has started (its size and file are known). */
  readonly waiting: Array<{ worker: CoordinatedWorker; id: number }>;
}

/**
 * In the primary: one fill per digest across all workers. The first claim of a digest makes its
 * worker the owner; later claims join (answered once the owner has started, with its file and
 * size), and get every report of the owner relayed. When a worker dies, the fills it owned end
 * as `abandoned` for their joiners, and its files are handed to `abandon` for removal.
 */
export class FillCoordinator {
  private readonly entries = new Map<string, Entry>();

  /** @param abandon removes a dead owner's file (by storage key). */
  constructor(private readonly abandon: (key: string) => void) {}

  /** Fills under way in all workers (until committed, or failed). */
  get size(): number {
    return this.entries.size;
  }

  claim(worker: CoordinatedWorker, id: number, digest: string): void {
    const entry = this.entries.get(digest);
    if (!entry) {
      this.entries.set(digest, {
        owner: worker.id,
        state: undefined,
        joiners: new Set(),
        waiting: [],
      });
      worker.send({ kind: 'fill-claimed', id });
      return;
    }
    if (!entry.state) {
      entry.waiting.push({ worker, id });
      return;
    }
    entry.joiners.add(worker);
    worker.send({ kind: 'fill-claimed', id, joined: { ...entry.state } });
  }

  /** An owner's report: applied, and relayed to the fill's joiners. */
  update(worker: CoordinatedWorker, digest: string, update: FillUpdate): void {
    const entry = this.entries.get(digest);
    if (!entry || entry.owner !== worker.id) return;
    if (update.type === 'started') {
      entry.state = { key: update.key, size: update.size, written: 0, verified: false };
      for (const { worker: waiter, id } of entry.waiting.splice(0)) {
        entry.joiners.add(waiter);
        waiter.send({ kind: 'fill-claimed', id, joined: { ...entry.state } });
      }
      return;
    }
    if (update.type === 'ended') {
      this.end(digest, entry, update.end);
      return;
    }
    if (!entry.state) return;
    if (update.type === 'written') entry.state.written = update.bytes;
    else entry.state.verified = true;
    for (const joiner of entry.joiners) joiner.send({ kind: 'fill-update', digest, update });
  }

  /** A worker is gone: its fills are abandoned (their files removed), and it joins none. */
  workerExited(worker: CoordinatedWorker): void {
    for (const [digest, entry] of this.entries) {
      entry.joiners.delete(worker);
      if (entry.owner !== worker.id) {
        const left = entry.waiting.filter((waiter) => waiter.worker.id !== worker.id);
        entry.waiting.splice(0, entry.waiting.length, ...left);
        continue;
      }
      this.end(digest, entry, 'abandoned');
      if (entry.state) this.abandon(entry.state.key);
    }
  }

  private end(digest: string, entry: Entry, end: 'committed' | 'failed' | 'abandoned'): void {
    this.entries.delete(digest);
    const update: FillUpdate = { type: 'ended', end };
    for (const joiner of entry.joiners) joiner.send({ kind: 'fill-update', digest, update });
    // Claims still waiting for a start that never came: they may start a fill of their own.
    const ended: SharedFillState = {
      key: entry.state?.key ?? '',
      size: entry.state?.size ?? 0,
      written: entry.state?.written ?? 0,
      verified: entry.state?.verified ?? false,
      ended: end,
    };
    for (const { worker, id } of entry.waiting)
      worker.send({ kind: 'fill-claimed', id, joined: ended });
  }
}

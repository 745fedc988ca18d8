import type { TailableBlobStore } from '@dtr-cache/blob-store';
import type { Digest } from '@dtr-cache/registry-protocol';
import {
  type BlobFill,
  type FillClaim,
  type FillCoordination,
  isDiskFull,
  type PassThrough,
} from '../cache/fill';
import type { FillUpdate } from './cluster-messages';
import type { PrimaryLink } from './primary-link';
import { RemoteFill } from './remote-fill';

/** An owner reports its bytes written after this many more… */
const REPORT_BYTES = 1024 * 1024;
/** …or this long after its last report, whichever comes first. */
const REPORT_MS = 10;

/**
 * A worker's side of the fills shared across workers ({@link FillCoordination}): claims go to the
 * primary; a fill this worker owns is reported (its file, bytes written, verification, end); a
 * fill another worker owns is read as a {@link RemoteFill}, kept up to date with that worker's
 * reports as the primary relays them.
 */
export class ClusterFills implements FillCoordination {
  /** Who hears the relayed reports of each digest's fill (remote fills, claims awaiting an answer). */
  private readonly listeners = new Map<string, Set<(update: FillUpdate) => void>>();

  constructor(
    private readonly link: PrimaryLink,
    private readonly store: TailableBlobStore,
  ) {
    link.onFillUpdate(({ digest, update }) => {
      for (const listener of this.listeners.get(digest) ?? []) listener(update);
    });
  }

  async claim(digest: Digest, rest: PassThrough): Promise<FillClaim> {
    const key = digest.toString();
    // Reports relayed right after the answer may be handled before the code after `await` runs
    // (several IPC messages are dispatched in one go): they are kept for the remote fill (not
    // those before the answer: they belong to an earlier fill of the digest).
    const early: FillUpdate[] = [];
    let answered = false;
    const keep = (update: FillUpdate) => {
      if (answered) early.push(update);
    };
    this.listen(key, keep);
    let joined;
    try {
      joined = await this.link.claim(digest, () => (answered = true));
    } finally {
      this.unlisten(key, keep);
    }
    if (!joined) return { owner: true, report: (filling) => void this.report(digest, filling) };
    // The owner's fill ended before it started (a refusal, a failure): try to fill it here.
    if (joined.ended !== undefined && joined.ended !== 'committed') return this.claim(digest, rest);
    const fill = new RemoteFill(digest, joined, this.store, rest);
    for (const update of early) fill.update(update);
    const listener = (update: FillUpdate) => fill.update(update);
    this.listen(key, listener);
    const leave = () => this.unlisten(key, listener);
    fill.done.then(leave, leave);
    return { owner: false, fill };
  }

  private listen(key: string, listener: (update: FillUpdate) => void): void {
    const set = this.listeners.get(key) ?? new Set();
    set.add(listener);
    this.listeners.set(key, set);
  }

  private unlisten(key: string, listener: (update: FillUpdate) => void): void {
    const set = this.listeners.get(key);
    set?.delete(listener);
    if (set?.size === 0) this.listeners.delete(key);
  }

  /** Reports a fill this worker owns to the primary, from its start to its end. */
  private async report(digest: Digest, filling: Promise<BlobFill>): Promise<void> {
    const send = (update: FillUpdate) =>
      this.link.send({ kind: 'fill-update', digest: digest.toString(), update });
    let fill: BlobFill;
    try {
      fill = await filling;
    } catch {
      send({ type: 'ended', end: 'failed' });
      return;
    }
    if (!fill.kept || fill.key === undefined) {
      send({ type: 'ended', end: 'abandoned' });
      return;
    }
    send({ type: 'started', key: fill.key, size: fill.size });
    let reported = 0;
    let reportedAt = Date.now();
    const reportWritten = () => {
      if (fill.written === reported) return;
      reported = fill.written;
      reportedAt = Date.now();
      send({ type: 'written', bytes: reported });
    };
    let ended = false;
    const end = fill.done.then(
      () => 'committed' as const,
      (error: unknown) => (isDiskFull(error) ? ('abandoned' as const) : ('failed' as const)),
    );
    void end.then(() => (ended = true));
    void fill.verified.then(
      () => {
        reportWritten();
        send({ type: 'verified' });
      },
      () => undefined,
    );
    while (!ended) {
      await Promise.race([fill.changed, end]);
      if (fill.written - reported >= REPORT_BYTES || Date.now() - reportedAt >= REPORT_MS)
        reportWritten();
    }
    reportWritten();
    send({ type: 'ended', end: await end });
  }
}

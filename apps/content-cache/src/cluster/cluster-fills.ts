import type { TailableBlobStore } from '@dtr-cache/blob-store';
import type { Digest } from '@dtr-cache/registry-protocol';
import {
  type BlobFill,
  type FillClaim,
  type FillCoordination,
  type FillContext,
  isDiskFull,
  UpstreamPassThrough,
} from '../cache/fill';
import type { UpstreamClient } from '../upstream/upstream-client';
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
  private readonly remote = new Map<string, Set<RemoteFill>>();

  constructor(
    private readonly link: PrimaryLink,
    private readonly store: TailableBlobStore,
    private readonly upstream: UpstreamClient,
  ) {
    link.onFillUpdate(({ digest, update }) => {
      for (const fill of this.remote.get(digest) ?? []) fill.update(update);
    });
  }

  async claim(digest: Digest, context: FillContext): Promise<FillClaim> {
    const joined = await this.link.claim(digest);
    if (!joined) return { owner: true, report: (filling) => void this.report(digest, filling) };
    // The owner's fill ended before it started (a refusal, a failure): try to fill it here.
    if (joined.ended !== undefined && joined.ended !== 'committed')
      return this.claim(digest, context);
    const passThrough = new UpstreamPassThrough(this.upstream, digest, context);
    const fill = new RemoteFill(digest, joined, this.store, passThrough);
    const key = digest.toString();
    const fills = this.remote.get(key) ?? new Set();
    fills.add(fill);
    this.remote.set(key, fills);
    const leave = () => {
      fills.delete(fill);
      if (fills.size === 0 && this.remote.get(key) === fills) this.remote.delete(key);
    };
    fill.done.then(leave, leave);
    return { owner: false, fill };
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

import type { SetAsideFile } from '@dtr-cache/blob-store';
import type { Digest } from '@dtr-cache/registry-protocol';
import type { GcStore } from './gc-store';

/** The blob store as the sweep needs it: blobs taken out of sight atomically, then decided on. */
export interface SweepableBlobStore {
  setAside(digest: Digest): Promise<SetAsideFile | undefined>;
}

/** What became of one candidate. */
export type SweepOutcome =
  | { readonly kind: 'deleted'; readonly size: number }
  /** A push linked or stored it meanwhile (or a link of it is within the grace period). */
  | { readonly kind: 'kept'; readonly reason: 'recent-link' | 'linked' | 'recent-file' }
  /** It was not stored any more. */
  | { readonly kind: 'gone' };

/**
 * Deletes one blob no manifest kept when the mark ran (the caller checked that), unless a push
 * is using it. The steps, each a check a concurrent push cannot slip past:
 *
 * 1. A link of it made or used within the grace period (or by an older release, untimed): kept.
 * 2. Its links older than that are deleted, in one statement that spares a link a push stamps
 *    meanwhile; from then on a mount of it or a manifest using it is refused (their transactions
 *    lock the link they rely on: see store/blob-links.ts).
 * 3. Any link left (a push made one meanwhile): kept.
 * 4. Its file is set aside (one rename). If the file set aside was written within the grace
 *    period (an upload committed it again meanwhile: a commit writes a new file), it is put back.
 * 5. Any link now (an upload that committed before step 4 and linked after step 3): put back.
 * 6. Otherwise it is removed for good.
 *
 * An upload's commit after step 4 publishes a new file, which step 6 does not touch.
 */
export class BlobSweeper {
  constructor(
    private readonly store: GcStore,
    private readonly blobs: SweepableBlobStore,
  ) {}

  /** Deletes `digest` unless a push uses it; `cutoff` is the run's start less the grace period. */
  async sweep(digest: Digest, cutoff: Date): Promise<SweepOutcome> {
    const key = digest.toString();
    if (await this.store.hasRecentLink(key, cutoff)) return { kind: 'kept', reason: 'recent-link' };
    await this.store.deleteStaleLinks(key, cutoff);
    if (await this.store.isLinked(key)) return { kind: 'kept', reason: 'linked' };
    const aside = await this.blobs.setAside(digest);
    if (!aside) return { kind: 'gone' };
    try {
      if (aside.info.lastAccessedAt.getTime() >= cutoff.getTime()) {
        await aside.restore();
        return { kind: 'kept', reason: 'recent-file' };
      }
      if (await this.store.isLinked(key)) {
        await aside.restore();
        return { kind: 'kept', reason: 'linked' };
      }
    } catch (error) {
      // Whatever failed (the database, most likely), the blob goes back where it was.
      await aside.restore();
      throw error;
    }
    await aside.discard();
    return { kind: 'deleted', size: aside.info.size };
  }
}

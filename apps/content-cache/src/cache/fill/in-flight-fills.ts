import type { Digest } from '@dtr-cache/registry-protocol';
import type { SharedFill } from './shared-fill';

/**
 * The fills under way, one per digest: the first client of a missed blob starts its fill, every
 * later one joins it, until it has ended. A fill that ended without keeping the blob (failed, or
 * kept nothing) is replaced by the next client's.
 */
export class InFlightFills {
  private readonly fills = new Map<string, Promise<SharedFill>>();

  /** Fills under way. */
  get size(): number {
    return this.fills.size;
  }

  /** The fill of `digest` under way, if any. */
  get(digest: Digest): Promise<SharedFill> | undefined {
    return this.fills.get(digest.toString());
  }

  /**
   * Joins the fill of `digest`, or starts one with `start`. `joined` says whether it was under way.
   * A fill that turns out spent (see {@link SharedFill.spent}) is forgotten, so the caller can call
   * again for a new one.
   */
  join(
    digest: Digest,
    start: () => Promise<SharedFill>,
  ): { fill: Promise<SharedFill>; joined: boolean } {
    const key = digest.toString();
    const shared = this.fills.get(key);
    if (shared) return { fill: shared, joined: true };
    const filling = start();
    this.fills.set(key, filling);
    const leave = () => this.forget(digest, filling);
    filling.then((fill) => fill.done).then(leave, leave);
    return { fill: filling, joined: false };
  }

  /** Forgets `filling` if it is still the fill of `digest` (another may have replaced it). */
  forget(digest: Digest, filling: Promise<SharedFill>): void {
    const key = digest.toString();
    if (this.fills.get(key) === filling) this.fills.delete(key);
  }
}

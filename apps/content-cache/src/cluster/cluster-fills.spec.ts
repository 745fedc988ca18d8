import { DriverBlobStore, MemoryDriver } from '@dtr-cache/blob-store';
import { Digest } from '@dtr-cache/registry-protocol';
import { describe, expect, it } from 'vitest';
import type { PassThrough } from '../cache/fill';
import { ClusterFills } from './cluster-fills';
import type { FillUpdate, SharedFillState } from './cluster-messages';
import type { PrimaryLink } from './primary-link';

/**
 * A line to the primary that answers a claim with `snapshot` and, in the same turn (as Node
 * dispatches several IPC messages read at once), relays `then`: the owner's later reports.
 */
function linkAnswering(snapshot: SharedFillState, then: FillUpdate[]): PrimaryLink {
  let relay: ((message: { digest: string; update: FillUpdate }) => void) | undefined;
  return {
    onFillUpdate: (handler: typeof relay) => (relay = handler),
    send: () => undefined,
    claim: (digest: Digest, answered?: () => void) => {
      const answer = Promise.resolve(snapshot);
      answered?.();
      for (const update of then) relay?.({ digest: digest.toString(), update });
      return answer;
    },
  } as unknown as PrimaryLink;
}

describe("a worker's side of a fill shared across workers", () => {
  const digest = Digest.of(Buffer.from('a blob'));
  const store = new DriverBlobStore(new MemoryDriver());
  const rest: PassThrough = {
    open: () => Promise.reject(new Error('not needed: the owner carries on')),
  };

  it("keeps the owner's reports relayed with the answer to its claim", async () => {
    const link = linkAnswering({ key: 'tmp/x.part', size: 6, written: 0, verified: false }, [
      { type: 'written', bytes: 6 },
      { type: 'verified' },
      { type: 'ended', end: 'committed' },
    ]);
    const claim = await new ClusterFills(link, store).claim(digest, rest);
    expect(claim.owner).toBe(false);
    if (claim.owner) return;
    expect(claim.fill.committed).toBe(true);
    await expect(claim.fill.done).resolves.toBeUndefined();
  });

  it('owns the fill when the primary says no other worker has it', async () => {
    const link = {
      onFillUpdate: () => undefined,
      send: () => undefined,
      claim: async () => undefined,
    } as unknown as PrimaryLink;
    const claim = await new ClusterFills(link, store).claim(digest, rest);
    expect(claim.owner).toBe(true);
  });
});

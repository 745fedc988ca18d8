import type { SetAsideFile } from '@dtr-cache/blob-store';
import { Digest } from '@dtr-cache/registry-protocol';
import { describe, expect, it } from 'vitest';
import type { GcStore } from './gc-store';
import { BlobSweeper } from './sweep';

const digest = Digest.of('a blob nothing keeps');
const cutoff = new Date('2026-05-01T10:00:00Z');
const old = new Date('2026-05-01T08:00:00Z');
const fresh = new Date('2026-05-01T11:00:00Z');

/**
 * One blob's links (`[linked_at]`, null for untimed) and file, with hooks that let a "push" act
 * between two steps of the sweep.
 */
function world(options: {
  links: Array<Date | null>;
  file?: { lastAccessedAt: Date } | undefined;
  /** Runs right after the file was set aside (a push that links it then). */
  afterSetAside?: (state: { links: Array<Date | null> }) => void;
  /** Runs right after the stale links were deleted. */
  afterDelete?: (state: { links: Array<Date | null> }) => void;
}) {
  const state = { links: [...options.links], file: options.file, restored: 0, discarded: 0 };
  const store = {
    hasRecentLink: async (_: string, at: Date) =>
      state.links.some((linked) => linked === null || linked >= at),
    deleteStaleLinks: async (_: string, at: Date) => {
      const before = state.links.length;
      state.links = state.links.filter((linked) => linked === null || linked >= at);
      options.afterDelete?.(state);
      return before - state.links.length;
    },
    isLinked: async () => state.links.length > 0,
  } as unknown as GcStore;
  const blobs = {
    setAside: async (): Promise<SetAsideFile | undefined> => {
      const file = state.file;
      if (!file) return undefined;
      state.file = undefined;
      options.afterSetAside?.(state);
      return {
        info: { key: 'k', size: 42, lastAccessedAt: file.lastAccessedAt },
        restore: async () => {
          state.file = file;
          state.restored += 1;
        },
        discard: async () => void (state.discarded += 1),
      };
    },
  };
  return { state, sweeper: new BlobSweeper(store, blobs) };
}

describe('sweeping one blob', () => {
  it('deletes an old file whose links are all older than the cutoff, and those links', async () => {
    const { state, sweeper } = world({ links: [old, old], file: { lastAccessedAt: old } });
    expect(await sweeper.sweep(digest, cutoff)).toEqual({ kind: 'deleted', size: 42 });
    expect(state).toMatchObject({ links: [], file: undefined, discarded: 1, restored: 0 });
  });

  it('keeps a blob with a link made or used since the cutoff, or untimed, deleting nothing', async () => {
    for (const recent of [fresh, null]) {
      const { state, sweeper } = world({ links: [old, recent], file: { lastAccessedAt: old } });
      expect(await sweeper.sweep(digest, cutoff)).toEqual({ kind: 'kept', reason: 'recent-link' });
      expect(state).toMatchObject({ links: [old, recent], discarded: 0 });
      expect(state.file).toBeDefined();
    }
  });

  it('keeps it when a push links it right after the stale links were deleted', async () => {
    const { state, sweeper } = world({
      links: [old],
      file: { lastAccessedAt: old },
      afterDelete: (now) => now.links.push(fresh),
    });
    expect(await sweeper.sweep(digest, cutoff)).toEqual({ kind: 'kept', reason: 'linked' });
    expect(state.file).toBeDefined();
    expect(state.discarded).toBe(0);
  });

  it('puts the file back when a push links it while it is set aside', async () => {
    const { state, sweeper } = world({
      links: [],
      file: { lastAccessedAt: old },
      afterSetAside: (now) => now.links.push(fresh),
    });
    expect(await sweeper.sweep(digest, cutoff)).toEqual({ kind: 'kept', reason: 'linked' });
    expect(state).toMatchObject({ restored: 1, discarded: 0 });
    expect(state.file).toBeDefined();
  });

  it('puts back a file an upload wrote again before it was set aside (fresh, not linked yet)', async () => {
    const { state, sweeper } = world({ links: [], file: { lastAccessedAt: fresh } });
    expect(await sweeper.sweep(digest, cutoff)).toEqual({ kind: 'kept', reason: 'recent-file' });
    expect(state).toMatchObject({ restored: 1, discarded: 0 });
  });

  it('says so when the file is gone already', async () => {
    const { sweeper } = world({ links: [], file: undefined });
    expect(await sweeper.sweep(digest, cutoff)).toEqual({ kind: 'gone' });
  });
});

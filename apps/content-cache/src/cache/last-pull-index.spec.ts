import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LastPullIndex } from './last-pull-index';

const hexOf = (n: number) => createHash('sha256').update(String(n)).digest('hex');
const order = (index: LastPullIndex) => [...index.oldestFirst()].map((blob) => blob.hex);

describe('the last-pull index', () => {
  it('keeps blobs in last-pull order: a pull moves a blob to the newest end', () => {
    const index = new LastPullIndex(32);
    for (let n = 0; n < 5; n += 1) index.touch(hexOf(n), n * 10, 1000 + n);
    index.touch(hexOf(1), 10, 2000);
    expect(order(index)).toEqual([0, 2, 3, 4, 1].map(hexOf));
    expect(index.size).toBe(5);
    expect(index.totalBytes).toBe(100);
    expect(index.get(hexOf(1))).toEqual({ hex: hexOf(1), size: 10, lastPull: 2000 });
    expect(index.oldest()?.hex).toBe(hexOf(0));
  });

  it('puts blobs added out of order in order, keeping the later pull of one pulled meanwhile', () => {
    const index = new LastPullIndex(32);
    index.touch(hexOf(7), 1, 500_000);
    for (const [n, at] of [
      [1, 300],
      [2, 100],
      [3, 200],
      [7, 50],
    ] as const)
      index.add(hexOf(n), 1, at * 1000);
    index.reorder();
    expect(order(index)).toEqual([2, 3, 1, 7].map(hexOf));
    expect(index.get(hexOf(7))?.lastPull).toBe(500_000);
  });

  it('agrees with a Map model under any sequence of touches, adds and removals (with growth)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom('touch', 'add', 'remove'), fc.integer({ min: 0, max: 3000 })),
          { minLength: 2000, maxLength: 4000 },
        ),
        (operations) => {
          const index = new LastPullIndex(32);
          const model = new Map<string, { size: number; lastPull: number }>();
          let clock = 0;
          for (const [operation, n] of operations) {
            const hex = hexOf(n);
            clock += 1;
            if (operation === 'touch') {
              index.touch(hex, n, clock);
              model.delete(hex);
              model.set(hex, { size: n, lastPull: clock });
            } else if (operation === 'add') {
              index.add(hex, n, clock);
              const known = model.get(hex);
              if (known) known.lastPull = Math.max(known.lastPull, clock);
              else model.set(hex, { size: n, lastPull: clock });
            } else {
              expect(index.remove(hex)).toBe(model.delete(hex));
            }
          }
          expect(order(index)).toEqual([...model.keys()]);
          expect(index.size).toBe(model.size);
          const total = [...model.values()].reduce((sum, blob) => sum + blob.size, 0);
          expect(index.totalBytes).toBe(total);
          for (const [hex, blob] of model) expect(index.get(hex)).toEqual({ hex, ...blob });
        },
      ),
      { numRuns: 10 },
    );
  });

  it('tolerates removing each blob as the walk yields it', () => {
    const index = new LastPullIndex(32);
    for (let n = 0; n < 100; n += 1) index.touch(hexOf(n), 1, n);
    let walked = 0;
    for (const blob of index.oldestFirst()) {
      index.remove(blob.hex);
      walked += 1;
    }
    expect(walked).toBe(100);
    expect(index.size).toBe(0);
    expect(order(index)).toEqual([]);
  });

  it('takes at most 150 bytes per blob', () => {
    const index = new LastPullIndex(32);
    const count = 200_000;
    for (let n = 0; n < count; n += 1)
      index.add(createHash('sha256').update(String(n)).digest('hex'), 1, n);
    index.reorder();
    expect(index.size).toBe(count);
    expect(index.memoryBytes / count).toBeLessThanOrEqual(150);
  });
});

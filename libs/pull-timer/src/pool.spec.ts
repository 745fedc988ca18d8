import { describe, expect, it } from 'vitest';
import { runPool } from './pool';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runPool', () => {
  it('keeps the items order and at most `concurrency` tasks running', async () => {
    let running = 0;
    let most = 0;
    const results = await runPool([30, 5, 20, 1, 10], 2, async (ms, index) => {
      running += 1;
      most = Math.max(most, running);
      await tick(ms);
      running -= 1;
      return index;
    });
    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('starts nothing after the first failure, cancels once and rejects with it', async () => {
    const started: number[] = [];
    let cancels = 0;
    const outcome = runPool(
      [0, 1, 2, 3, 4, 5],
      2,
      async (item) => {
        started.push(item);
        await tick(5);
        if (item >= 1) throw new Error(`failed ${item}`);
        return item;
      },
      () => (cancels += 1),
    );
    await expect(outcome).rejects.toThrow('failed 1');
    expect(started).toEqual([0, 1, 2]);
    expect(cancels).toBe(1);
  });
});

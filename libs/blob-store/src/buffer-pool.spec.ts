import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool';

describe('BufferPool', () => {
  it('hands a returned buffer out again, whole, even when a part of it was returned', () => {
    const pool = new BufferPool({ bufferSize: 1024, maxFree: 4 });
    const buffer = pool.take();
    expect(buffer.length).toBe(1024);
    pool.give(buffer.subarray(0, 10));
    expect(pool.freeCount).toBe(1);
    const again = pool.take();
    expect(again.buffer).toBe(buffer.buffer);
    expect(again.length).toBe(1024);
  });

  it('ignores a second return and buffers it did not hand out', () => {
    const pool = new BufferPool({ bufferSize: 1024, maxFree: 4 });
    const buffer = pool.take();
    pool.give(buffer);
    pool.give(buffer);
    pool.give(Buffer.allocUnsafeSlow(1024));
    expect(pool.freeCount).toBe(1);
    // Were the second return kept, one buffer would now be in two hands.
    expect(pool.take().buffer).not.toBe(pool.take().buffer);
  });

  it('gives a large read a pooled buffer and a small one a buffer of its own size', () => {
    const pool = new BufferPool({ bufferSize: 1024, maxFree: 4 });
    const large = pool.bufferFor(600);
    expect(large.length).toBe(1024);
    pool.give(large);
    expect(pool.freeCount).toBe(1);
    const small = pool.bufferFor(100);
    expect(small.length).toBe(100);
    pool.give(small);
    expect(pool.freeCount).toBe(1);
    // A read larger than the pool's buffers gets one that holds it.
    expect(pool.bufferFor(5000).length).toBe(5000);
  });

  it('keeps at most maxFree buffers', () => {
    const pool = new BufferPool({ bufferSize: 16, maxFree: 2 });
    const taken = [pool.take(), pool.take(), pool.take()];
    for (const buffer of taken) pool.give(buffer);
    expect(pool.freeCount).toBe(2);
  });

  it('trim lets the free buffers go only after a period without a take', () => {
    const pool = new BufferPool({ bufferSize: 16, maxFree: 2 });
    pool.give(pool.take());
    pool.trim();
    expect(pool.freeCount).toBe(1);
    pool.trim();
    expect(pool.freeCount).toBe(0);
  });
});

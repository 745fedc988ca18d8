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

describe('BufferPool bounds', () => {
  const options = {
    bufferSize: 1024,
    maxFree: 4,
    maxLent: 2048,
    smallSize: 128,
    smallAllocation: 256,
    maxFreeSmall: 2,
  };

  it('lends at most maxLent bytes of large buffers: beyond it a large read gets a small buffer', () => {
    const pool = new BufferPool(options);
    const first = pool.bufferFor(1024);
    const second = pool.bufferFor(600);
    expect([first.length, second.length]).toEqual([1024, 1024]);
    expect(pool.lentBytes).toBe(2048);
    // The buffer is shorter than the read asked for: it reads that much, and the rest later.
    expect(pool.bufferFor(1024).length).toBe(128);
    pool.give(first);
    expect(pool.lentBytes).toBe(1024);
    expect(pool.bufferFor(1024).buffer).toBe(first.buffer);
  });

  it('stops counting a buffer disowned, and does not take it back afterwards', () => {
    const pool = new BufferPool(options);
    const kept = pool.take();
    pool.disown(kept);
    expect(pool.lentBytes).toBe(0);
    pool.give(kept);
    expect(pool.freeCount).toBe(0);
  });

  it('gives a small read a pooled small buffer, reused once given back and not counted as lent', () => {
    const pool = new BufferPool(options);
    const small = pool.bufferFor(100);
    expect(small.length).toBe(128);
    // Allocated larger than it is (see READ_BUFFERS: memory of its own, given back when freed).
    expect(small.buffer.byteLength).toBe(256);
    expect(pool.lentBytes).toBe(0);
    pool.give(small.subarray(0, 10));
    expect(pool.freeSmallCount).toBe(1);
    expect(pool.bufferFor(128).buffer).toBe(small.buffer);
    // Reads much smaller than a small buffer get their own.
    expect(pool.bufferFor(20).length).toBe(20);
    const smalls = [pool.bufferFor(128), pool.bufferFor(128), pool.bufferFor(128)];
    for (const buffer of smalls) pool.give(buffer);
    expect(pool.freeSmallCount).toBe(2);
    pool.trim();
    pool.trim();
    expect(pool.freeSmallCount).toBe(0);
  });
});

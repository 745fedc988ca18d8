import { Digest } from '@dtr-cache/registry-protocol';
import { describe, expect, it } from 'vitest';
import type { BlobFill } from './blob-fill';
import { InFlightFills } from './in-flight-fills';

/** A stand-in fill whose `done` settles when the test says. */
function fakeFill(): { fill: BlobFill; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<undefined>((resolve) => (finish = () => resolve(undefined)));
  return { fill: { done } as unknown as BlobFill, finish };
}

describe('the fills in flight', () => {
  const digest = Digest.of(Buffer.from('a blob'));

  it('starts one fill per digest, which later clients join until it has ended', async () => {
    const fills = new InFlightFills();
    const first = fakeFill();
    let starts = 0;
    const start = async () => {
      starts += 1;
      return first.fill;
    };
    const a = fills.join(digest, start);
    const b = fills.join(digest, start);
    expect(a.joined).toBe(false);
    expect(b.joined).toBe(true);
    expect(b.fill).toBe(a.fill);
    expect(starts).toBe(1);
    expect(fills.size).toBe(1);
    first.finish();
    await new Promise((resolve) => setImmediate(resolve));
    expect(fills.size).toBe(0);
    expect(fills.join(digest, start).joined).toBe(false);
    expect(starts).toBe(2);
  });

  it('forgets a fill that failed to start, and only the one it was asked to', async () => {
    const fills = new InFlightFills();
    const failed = fills.join(digest, () => Promise.reject(new Error('refused')));
    await failed.fill.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(fills.size).toBe(0);
    const next = fills.join(digest, async () => fakeFill().fill);
    fills.forget(digest, failed.fill);
    expect(fills.get(digest)).toBe(next.fill);
    fills.forget(digest, next.fill);
    expect(fills.get(digest)).toBeUndefined();
  });
});

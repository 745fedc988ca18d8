import { describe, expect, it } from 'vitest';
import { HandoffWindow } from './handoff-window';

const chunk = (length: number, fill: number) => Buffer.alloc(length, fill);

describe('the hand-off window', () => {
  it('slices received bytes by offset without copying, across chunks', () => {
    const window = new HandoffWindow(1024);
    const first = chunk(100, 1);
    window.push(first);
    window.push(chunk(100, 2));
    expect(window.received).toBe(200);
    const slice = window.slice(50, 100) as Buffer;
    expect(slice.length).toBe(50);
    expect(slice.buffer).toBe(first.buffer);
    expect(window.slice(150, 10)?.[0]).toBe(2);
    expect(window.slice(200, 10)).toBeUndefined();
  });

  it('drops the oldest chunks beyond its limit, but always keeps the newest', () => {
    const window = new HandoffWindow(250);
    for (let index = 0; index < 5; index += 1) window.push(Buffer.from(new ArrayBuffer(100)));
    expect(window.bytes).toBeLessThanOrEqual(300);
    expect(window.slice(0, 1)).toBeUndefined();
    expect(window.slice(499, 1)).toBeDefined();
    const small = new HandoffWindow(10);
    small.push(Buffer.from(new ArrayBuffer(100)));
    expect(small.slice(0, 1)).toBeDefined();
  });

  it('counts the memory a slice keeps alive, not its length', () => {
    const window = new HandoffWindow(1 << 20);
    window.push(Buffer.from(new ArrayBuffer(64 * 1024), 0, 10));
    expect(window.bytes).toBe(64 * 1024);
  });

  it('drops what every client has read, and everything on clear', () => {
    const window = new HandoffWindow(1 << 20);
    for (let index = 0; index < 4; index += 1) window.push(chunk(100, index));
    window.push(chunk(100, 4), 250);
    expect(window.slice(150, 1)).toBeUndefined();
    expect(window.slice(250, 1)?.[0]).toBe(2);
    window.clear();
    expect(window.bytes).toBe(0);
    expect(window.received).toBe(500);
    expect(window.slice(450, 1)).toBeUndefined();
  });
});

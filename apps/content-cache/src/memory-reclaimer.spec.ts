import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryReclaimer } from './memory-reclaimer';

describe('MemoryReclaimer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A server that accepts `count` connections and closes them. */
  function closeConnections(server: EventEmitter, count: number): void {
    for (let index = 0; index < count; index += 1) {
      const socket = new EventEmitter();
      server.emit('connection', socket);
      socket.emit('close');
    }
  }

  it('collects and then trims once many connections closed, at most once per interval', async () => {
    const server = new EventEmitter();
    const collect = vi.fn(async () => undefined);
    const release = vi.fn(() => true);
    const reclaimer = new MemoryReclaimer(3, 1000, collect, release);
    reclaimer.watch(server as unknown as Server);
    closeConnections(server, 2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(collect).not.toHaveBeenCalled();
    closeConnections(server, 5);
    await vi.advanceTimersByTimeAsync(999);
    expect(collect).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(collect).toHaveBeenCalledTimes(1);
    expect(collect).toHaveBeenCalledWith({ type: 'major', execution: 'async' });
    expect(release).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(200);
    expect(release).toHaveBeenCalledTimes(1);
    // The closes counted after the timer was set do not start another round.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(collect).toHaveBeenCalledTimes(1);
  });

  it('still trims without a collector', async () => {
    const server = new EventEmitter();
    const release = vi.fn(() => true);
    new MemoryReclaimer(1, 10, undefined, release).watch(server as unknown as Server);
    closeConnections(server, 1);
    await vi.advanceTimersByTimeAsync(300);
    expect(release).toHaveBeenCalledTimes(1);
  });
});

import type { Socket } from 'node:net';

/** What a simulated link does to bytes crossing it in one direction. */
export interface LinkProfile {
  /** One-way delay added to every byte, in milliseconds (0 or more). */
  readonly delayMs: number;
  /** Bandwidth in bits per second; undefined means as fast as the machine goes. */
  readonly bitsPerSecond?: number | undefined;
}

/**
 * When one direction of a link is free to send again (a `performance.now()` time): shared by the
 * shapers of every connection that crosses the link in that direction, so that they share its rate.
 */
export interface LinkClock {
  freeAt: number;
}

/** Bytes queued in one direction above which the sending side is paused. */
const HIGH_WATER = 4 * 1024 * 1024;

interface Pending {
  readonly chunk: Buffer | undefined; // undefined: the sender ended its side
  readonly dueAt: number;
}

/**
 * Carries one direction of a TCP relay, `from` → `to`, as over a link of `profile`: each chunk is
 * serialized at the link's rate after the previous one on the link (of this connection or of any
 * other sharing `clock`) and delivered `delayMs` later, in order.
 * Delivery is never early: a timer that fires before a chunk's time is armed again. Streams:
 * `from` is paused while more than 4 MiB wait (here or in `to`'s buffer), so a fast sender or a
 * slow receiver cannot grow memory without bound.
 */
export class LinkShaper {
  private readonly queue: Pending[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly profile: LinkProfile,
    private readonly clock: LinkClock = { freeAt: 0 },
  ) {
    from.on('data', (chunk: Buffer) => this.enqueue(chunk));
    from.on('end', () => this.enqueue(undefined));
    to.on('drain', () => this.resumeIfRoom());
  }

  /** Drops what waits and stops delivering (the relay closes both sockets). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
  }

  private enqueue(chunk: Buffer | undefined): void {
    const now = performance.now();
    const bytes = chunk?.length ?? 0;
    const sendTime =
      this.profile.bitsPerSecond === undefined
        ? 0
        : (bytes * 8 * 1000) / this.profile.bitsPerSecond;
    this.clock.freeAt = Math.max(this.clock.freeAt, now) + sendTime;
    this.queue.push({ chunk, dueAt: this.clock.freeAt + this.profile.delayMs });
    this.queuedBytes += bytes;
    if (this.waitingBytes() > HIGH_WATER) this.from.pause();
    this.schedule();
  }

  /** Bytes queued here plus those the receiving socket has not sent yet (a slow receiver). */
  private waitingBytes(): number {
    return this.queuedBytes + this.to.writableLength;
  }

  private resumeIfRoom(): void {
    if (!this.closed && this.waitingBytes() <= HIGH_WATER / 2 && this.from.isPaused())
      this.from.resume();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const head = this.queue[0];
    if (!head) return;
    const wait = head.dueAt - performance.now();
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.deliver();
      },
      Math.max(0, Math.ceil(wait)),
    );
  }

  private deliver(): void {
    const now = performance.now();
    while (!this.closed && this.queue[0] && this.queue[0].dueAt <= now) {
      const { chunk } = this.queue.shift() as Pending;
      if (chunk === undefined) {
        this.to.end();
      } else {
        this.queuedBytes -= chunk.length;
        this.to.write(chunk);
      }
    }
    this.resumeIfRoom();
    this.schedule();
  }
}

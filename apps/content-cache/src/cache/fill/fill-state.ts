import type { Readable } from 'node:stream';
import type { Digest } from '@dtr-cache/registry-protocol';
import { ClientPositions } from './client-positions';
import { FillSignal } from './fill-signal';
import type { FillSink } from './fill-sink';
import { HandoffWindow } from './handoff-window';
import type { PassThrough } from './pass-through';

/**
 * The newest bytes of a kept fill held in memory for the clients that keep up; readers further
 * behind read from the file.
 */
export const HANDOFF_WINDOW = 8 * 1024 * 1024;
/**
 * What a fill that keeps nothing holds, so clients slower than the fastest can lag it by the
 * difference (a client further behind gets the rest from its own download).
 */
export const TRANSIENT_WINDOW = 32 * 1024 * 1024;

/**
 * What one fill's download and its clients' readers share: where the bytes go, what is held in
 * memory, where each client is, and how the fill ended. Written by the download, read by the
 * readers; {@link signal} tells of every change.
 */
export class FillState {
  readonly signal = new FillSignal();
  readonly positions = new ClientPositions();
  readonly window: HandoffWindow;
  /** Resolves once size and digest are verified (before the commit is durable); rejects on failure. */
  readonly verified: Promise<void>;
  private settleVerified!: (error?: Error) => void;
  /** Why the fill failed, once it has. */
  failure: Error | undefined;
  /** Set once the download ended, committed or failed. */
  finished = false;
  /** Clients reading from this fill, started or not. */
  private readers = 0;

  /**
   * @param kept the bytes go to the local store (else the fill keeps nothing: a client that falls
   *   behind its window gets the rest from its own download).
   */
  constructor(
    readonly digest: Digest,
    readonly size: number,
    readonly sink: FillSink,
    readonly passThrough: PassThrough,
    readonly kept: boolean,
  ) {
    this.window = new HandoffWindow(kept ? HANDOFF_WINDOW : TRANSIENT_WINDOW);
    this.verified = new Promise<void>((resolve, reject) => {
      this.settleVerified = (error) => (error ? reject(error) : resolve());
    });
    this.verified.catch(() => undefined);
  }

  /** Settles {@link verified}: size and digest matched, or the fill failed with `error`. */
  settle(error?: Error): void {
    this.settleVerified(error);
  }

  /** A client starts reading (it is counted until {@link readerLeft}). */
  readerJoined(): void {
    this.readers += 1;
  }

  /** A client stopped reading: the last one out of a finished fill releases what it holds. */
  readerLeft(): Promise<void> {
    this.readers -= 1;
    return this.releaseIfIdle();
  }

  /** Once the fill has ended and no client reads it: drops the window, closes the file. */
  async releaseIfIdle(): Promise<void> {
    if (this.finished && this.readers === 0) {
      this.window.clear();
      await this.sink.releaseReader();
    }
  }

  /**
   * Bytes `offset` to `end` from a download of the client's own, for a client that has received
   * bytes from this fill: that download must begin with every byte this fill received, which the
   * sink hashed whether or not it stored them.
   * @throws the fill's failure when the sink's hash does not cover every received byte.
   */
  rest(offset: number, end: number): Promise<Readable> {
    const received = this.sink.hashedPrefix();
    if (received.size !== this.window.received)
      return Promise.reject(this.failure ?? new Error('the fill lost count of its bytes'));
    return this.passThrough.open({ start: offset, end }, received);
  }
}

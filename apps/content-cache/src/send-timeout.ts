import type { ServerResponse } from 'node:http';

/**
 * A response's send timeout: it runs while bytes wait for the client, starts again whenever the
 * client makes progress (a write to it completed, or its socket drained), and closes the response
 * once `timeoutMs` passed without any. A response waiting for bytes to send (a slow upstream) is
 * not timed by it.
 */
export class SendTimeout {
  private timer: NodeJS.Timeout | undefined;
  /** True once it fired. */
  expired = false;

  constructor(
    private readonly response: ServerResponse,
    readonly timeoutMs: number,
  ) {
    response.once('close', () => this.stop());
  }

  /** Bytes were queued for the client: the timeout runs (if it does not already). */
  waiting(): void {
    if (this.timer === undefined && !this.response.destroyed)
      this.timer = setTimeout(this.expire, this.timeoutMs);
  }

  /** The client took bytes: the timeout starts again, or stops if nothing waits any more. */
  progressed(): void {
    if (this.timer === undefined) return;
    if (this.response.writableLength === 0) this.stop();
    else this.timer.refresh();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    this.expired = true;
    this.response.destroy();
  };
}

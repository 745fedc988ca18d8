/**
 * A fill's "something changed" signal: bytes arrived or reached the disk, a client moved on, the
 * fill ended. Waiters await {@link changed} and look again; {@link notify} wakes all of them.
 */
export class FillSignal {
  private wake: (() => void) | undefined;
  private next: Promise<void>;

  constructor() {
    this.next = new Promise((resolve) => (this.wake = resolve));
  }

  /** Resolves at the next {@link notify}. */
  get changed(): Promise<void> {
    return this.next;
  }

  notify(): void {
    const wake = this.wake;
    this.next = new Promise((resolve) => (this.wake = resolve));
    wake?.();
  }
}

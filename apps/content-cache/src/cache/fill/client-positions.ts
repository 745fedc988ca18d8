/** Where one client reading a fill has got to (the next byte it will be sent). */
export interface ClientPosition {
  offset: number;
}

/**
 * The positions of the clients reading a fill from memory or its file (not those on a download
 * of their own): a fill that keeps nothing paces its download to the fastest of them and keeps
 * what the slowest still needs.
 */
export class ClientPositions {
  private readonly positions = new Set<ClientPosition>();

  /** Starts tracking a client at `offset`. */
  add(offset: number): ClientPosition {
    const position = { offset };
    this.positions.add(position);
    return position;
  }

  /** Stops tracking a client; safe to call more than once. */
  remove(position: ClientPosition): void {
    this.positions.delete(position);
  }

  /** The offset of the fastest client, or -1 with none. */
  fastest(): number {
    let fastest = -1;
    for (const position of this.positions) fastest = Math.max(fastest, position.offset);
    return fastest;
  }

  /** The offset of the slowest client (0 with none). */
  slowest(): number {
    let slowest = Number.POSITIVE_INFINITY;
    for (const position of this.positions) slowest = Math.min(slowest, position.offset);
    return Number.isFinite(slowest) ? slowest : 0;
  }
}

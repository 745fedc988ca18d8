import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { type LinkClock, type LinkProfile, LinkShaper } from './link-shaper';

/** Where a relay listens and where it forwards, and the link it simulates. */
export interface DelayRelayOptions {
  /** Loopback address to listen on; port 0 (the default) picks a free one. */
  readonly listen: { readonly host: string; readonly port?: number };
  /** The server every accepted connection is forwarded to. */
  readonly target: { readonly host: string; readonly port: number };
  /** The link in both directions (a symmetric link: same delay and rate each way). */
  readonly link: LinkProfile;
}

/**
 * A TCP relay that makes a loopback connection behave like a WAN link: every accepted connection is
 * forwarded to the target, with each direction delayed and rate-limited by a {@link LinkShaper};
 * the connections share the link's rate in each direction, as connections over one link do.
 * Bytes are passed through unchanged (TLS and HTTP/1.1 alike). Closing the relay closes every
 * connection it carries.
 */
export class DelayRelay {
  private readonly connections = new Set<Socket>();
  private readonly shapers = new Set<LinkShaper>();
  /** Per direction, when the link is free again: shared by every connection's shaper. */
  private readonly toTarget: LinkClock = { freeAt: 0 };
  private readonly toClient: LinkClock = { freeAt: 0 };

  private constructor(
    private readonly server: Server,
    private readonly options: DelayRelayOptions,
  ) {
    server.on('connection', (client) => this.relay(client));
  }

  /** Starts listening; resolves once the relay accepts connections. */
  static async start(options: DelayRelayOptions): Promise<DelayRelay> {
    const server = createServer({ noDelay: true, allowHalfOpen: true });
    const relay = new DelayRelay(server, options);
    server.listen(options.listen.port ?? 0, options.listen.host);
    await once(server, 'listening');
    return relay;
  }

  /** The address clients connect to. */
  get address(): { host: string; port: number } {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('relay is not listening');
    return { host: address.address, port: address.port };
  }

  /** Stops accepting, destroys every relayed connection and resolves once closed. */
  async close(): Promise<void> {
    for (const shaper of this.shapers) shaper.close();
    for (const socket of this.connections) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket): void {
    const upstream = connect({ ...this.options.target, noDelay: true, allowHalfOpen: true });
    const shapers = [
      new LinkShaper(client, upstream, this.options.link, this.toTarget),
      new LinkShaper(upstream, client, this.options.link, this.toClient),
    ];
    const sockets = [client, upstream];
    for (const shaper of shapers) this.shapers.add(shaper);
    const forget = () => {
      if (sockets.every((socket) => socket.destroyed))
        for (const shaper of shapers) this.shapers.delete(shaper);
    };
    for (const socket of sockets) {
      this.connections.add(socket);
      socket.on('error', () => undefined);
      // A side that ends cleanly reaches the other through its shaper, after the bytes before it;
      // a side that fails takes the other down at once, as a broken link would.
      socket.on('close', (hadError) => {
        this.connections.delete(socket);
        forget();
        if (!hadError) return;
        for (const shaper of shapers) shaper.close();
        for (const other of sockets) other.destroy();
      });
    }
  }
}

import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Logger } from '@dtr-cache/logging';
import { clientKeyOf } from '@dtr-cache/network';
import { RegistryError } from '@dtr-cache/registry-protocol';

/** What a client refused for its number of connections is told to wait, in seconds. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Limits of the cache's server on what comes before (and between) responses, in milliseconds.
 * Requests to a cache have no body: a request is complete once its headers are.
 */
export const CONNECTION_TIMEOUTS = {
  /** A request's headers must all arrive within this (else 408 and the connection closes). */
  headersTimeout: 10_000,
  /** The whole request, the same (no body follows the headers). */
  requestTimeout: 10_000,
  /** A kept-alive connection without a request is closed after this. */
  keepAliveTimeout: 5_000,
  /** How often the two request timeouts are checked. */
  connectionsCheckingInterval: 1_000,
  /** A connection (after its TLS handshake) must send its first request within this. */
  firstRequestTimeout: 10_000,
  /** A TLS handshake must complete within this. */
  handshakeTimeout: 10_000,
} as const;

/**
 * The cache's connections per client. A client is an address as the socket sees it (the cache
 * trusts no proxy header), an IPv6 one counted by its /64 ({@link clientKeyOf}).
 *
 * A connection is served once its first request comes: at most `maxPerClient` connections of one
 * client are served at once, and a request on one more is refused (429 `TOOMANYREQUESTS`, with
 * `Retry-After`, and the connection closed). Connections waiting for their answer are bounded too:
 * beyond twice `maxPerClient` open connections of one client, a new one is closed as it is
 * accepted. No connection holds the server for free: a TLS handshake, a connection's first request
 * and each request's head must come within {@link CONNECTION_TIMEOUTS}, and a kept-alive
 * connection without a request is closed (a response that stops moving is its send timeout's).
 * Nothing is timed on a connection while its response is under way (a socket timeout is refreshed
 * on every write: 2.5% of the CPU of 64 KiB chunks).
 */
export class ClientConnections {
  /** Open connections per client (accepted, served or not). */
  private readonly open = new Map<string, number>();
  /** Connections served per client. */
  private readonly served = new Map<string, number>();
  /** The client of each connection served. */
  private readonly clients = new WeakMap<Socket, string>();
  /** Connections accepted and without a request yet: closed when their timer fires. */
  private readonly waiting = new WeakMap<Socket, NodeJS.Timeout>();
  /** Clients refused since they last had room: each is logged once per such spell. */
  private readonly refusing = new Set<string>();

  constructor(
    private readonly maxPerClient: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Watches `server`'s connections: the TCP ones as they are accepted (for HTTPS, before their
   * handshake), and each until its first request. Set the server's own timeouts from
   * {@link CONNECTION_TIMEOUTS}.
   */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => this.accepted(socket));
    // The socket a request comes on: for HTTPS, once the handshake is done.
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) =>
      this.awaitRequest(socket),
    );
  }

  /**
   * Admits a request; or returns the error to answer it with, when its connection is one too many
   * of its client's.
   */
  admit(request: IncomingMessage): RegistryError | undefined {
    const socket = request.socket;
    if (this.clients.has(socket)) return undefined;
    clearTimeout(this.waiting.get(socket));
    const key = clientKeyOf(socket.remoteAddress ?? 'unknown');
    const served = this.served.get(key) ?? 0;
    if (served >= this.maxPerClient) {
      this.refused(key);
      return this.tooMany();
    }
    this.served.set(key, served + 1);
    this.clients.set(socket, key);
    socket.once('close', () => {
      if (countDown(this.served, key) < this.maxPerClient) this.refusing.delete(key);
    });
    return undefined;
  }

  /** Closes `socket` unless a request comes on it in time. */
  private awaitRequest(socket: Socket): void {
    if (socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), CONNECTION_TIMEOUTS.firstRequestTimeout);
    this.waiting.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  }

  /** Counts an accepted connection, or closes it: its client has twice the most open already. */
  private accepted(socket: Socket): void {
    const key = clientKeyOf(socket.remoteAddress ?? 'unknown');
    const open = this.open.get(key) ?? 0;
    if (open >= 2 * this.maxPerClient) {
      this.refused(key);
      socket.destroy();
      return;
    }
    this.open.set(key, open + 1);
    socket.once('close', () => countDown(this.open, key));
  }

  /** Logs the first refusal of a client since it last had room. */
  private refused(key: string): void {
    if (this.refusing.has(key)) return;
    this.refusing.add(key);
    this.logger.warn('client connection limit reached', {
      client: key,
      maxClientConnections: this.maxPerClient,
    });
  }

  private tooMany(): RegistryError {
    return new RegistryError(
      'TOOMANYREQUESTS',
      `too many connections from one client (the most is ${this.maxPerClient})`,
      {
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS), Connection: 'close' },
        detail: { maxClientConnections: this.maxPerClient },
      },
    );
  }
}

/** Takes one from `key`'s count (forgetting it at 0); returns what is left. */
function countDown(counts: Map<string, number>, key: string): number {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
  return left;
}

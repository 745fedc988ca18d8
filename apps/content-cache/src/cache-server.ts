import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import { type CacheServices, createApp } from './app';
import { CONNECTION_TIMEOUTS, ClientConnections } from './client-connections';
import { MemoryReclaimer } from './memory-reclaimer';

/** How the cache's server is reached and what it allows a client. */
export interface CacheServerOptions {
  /** TLS options (certificate and key, or an SNI callback); plain HTTP without. */
  readonly tls?: ServerOptions;
  /** `maxclientconnections`: connections served at once per client address. */
  readonly maxClientConnections: number;
  /** `sendtimeout`, in milliseconds. */
  readonly sendTimeoutMs: number;
  /** See `CacheServices.sendFile` (default: true). */
  readonly sendFile?: boolean;
}

/**
 * The cache's HTTP(S) server, not listening yet: the request listener of {@link createApp}, the
 * per-client connection limit and the server's timeouts ({@link ClientConnections},
 * {@link CONNECTION_TIMEOUTS}). The one place both the program and the tests build it.
 */
export function createCacheServer(
  services: Omit<CacheServices, 'connections' | 'sendTimeoutMs' | 'sendFile'>,
  options: CacheServerOptions,
): Server {
  const connections = new ClientConnections(options.maxClientConnections, services.logger);
  const listener = createApp({
    ...services,
    connections,
    sendTimeoutMs: options.sendTimeoutMs,
    sendFile: options.sendFile ?? true,
  });
  const { headersTimeout, requestTimeout, keepAliveTimeout, connectionsCheckingInterval } =
    CONNECTION_TIMEOUTS;
  const timeouts = {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout,
    connectionsCheckingInterval,
  };
  const server: Server = options.tls
    ? createHttpsServer(
        { ...timeouts, handshakeTimeout: CONNECTION_TIMEOUTS.handshakeTimeout, ...options.tls },
        listener,
      )
    : createHttpServer(timeouts, listener);
  connections.watch(server);
  new MemoryReclaimer().watch(server);
  return server;
}

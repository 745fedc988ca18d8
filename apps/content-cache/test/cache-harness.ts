import { get, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { MemoryDriver, type StorageDriver, type TempFile } from '@dtr-cache/blob-store';
import {
  DEFAULT_MEMORY_SIZE,
  IssueCollector,
  parseDownstreamOptions,
  type UpstreamPolicy,
} from '@dtr-cache/config';
import { createLogger, type Logger } from '@dtr-cache/logging';
import type { Digest } from '@dtr-cache/registry-protocol';
import { createCacheServer } from '../src/cache-server';
import {
  type BuiltCacheServices,
  buildCacheServices,
  type CacheServicesOptions,
} from '../src/cache-services';
import type { BlobExpiry, ExpiryOptions } from '../src/cache/blob-expiry';
import type { CachingBlobStore } from '../src/cache/caching-blob-store';
import type { UpstreamClient } from '../src/upstream/upstream-client';
import type { UpstreamKeys } from '../src/upstream/upstream-keys';
import { inject } from 'vitest';
import { buildInProcessWorkers, type InProcessWorkers } from './in-process-workers';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The workers each integration suite's cache runs with (its test project's). */
    cacheWorkers: number;
  }
}

/** An in-process content cache on a loopback port, with its log lines captured. */
export interface RunningCache {
  url: string;
  /** How many workers serve it (their connections in turn). */
  workers: number;
  /** The first worker's caching store. */
  cache: CachingBlobStore;
  upstream: UpstreamClient;
  keys: UpstreamKeys;
  /** Expiry (the primary's, with several workers). */
  expiry: BlobExpiry | undefined;
  logs: Array<Record<string, unknown>>;
  /** `cache=` of each `blob request` log line for `digest`, in order: miss, hit, coalesced… */
  results(digest: Digest): unknown[];
  close(): Promise<void>;
}

export async function startCache(options: {
  upstreams: string[];
  /** `upstreampolicy` (default: roundrobin). */
  upstreamPolicy?: UpstreamPolicy;
  stallTimeoutMs?: number;
  minKeyRefreshMs?: number;
  expiry?: ExpiryOptions;
  driver?: StorageDriver;
  /** The memory tier's size (`memorysize`), as in main.ts; 0 turns it off. */
  memorySize?: number;
  /** `http.headers`. */
  headers?: Record<string, string[]>;
  /** `sendtimeout` in milliseconds (default: the configuration's default). */
  sendTimeoutMs?: number;
  /** `maxclientconnections` (default: the configuration's default). */
  maxClientConnections?: number;
  /** Large disk hits with sendfile (default: true; false: the stream path of TLS and memory). */
  sendFile?: boolean;
  /** `workers` (default: the test project's, see `vitest.workers.config.ts`). */
  workers?: number;
}): Promise<RunningCache> {
  const logs: Array<Record<string, unknown>> = [];
  const loggerOf = (worker: number): Logger =>
    createLogger(
      { level: 'debug', formatter: 'json', fields: worker > 0 ? { worker: String(worker) } : {} },
      (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
    );
  const workerCount = options.workers ?? inject('cacheWorkers') ?? 1;
  const servicesOptions = {
    driver: options.driver ?? new MemoryDriver(),
    memorySize: options.memorySize ?? DEFAULT_MEMORY_SIZE,
    upstream: {
      hosts: options.upstreams.map((url) => new URL(url)),
      policy: options.upstreamPolicy,
      cas: [],
      connectTimeoutMs: 2000,
      stallTimeoutMs: options.stallTimeoutMs ?? 5000,
      failureThreshold: 3,
      cooldownMs: 30_000,
    },
    keyRefresh: {
      minRefreshIntervalMs: options.minKeyRefreshMs ?? 0,
      refreshIntervalMs: 3_600_000,
    },
    expiry: options.expiry,
  };
  const built =
    workerCount > 1
      ? await buildInProcessWorkers(workerCount, servicesOptions, loggerOf)
      : await oneProcess(servicesOptions, loggerOf(0));
  const { workers, expiry } = built;
  await expiry?.ready;
  const defaults = parseDownstreamOptions(
    { upstreams: options.upstreams },
    new IssueCollector(),
    'options',
  );
  const maxClientConnections =
    options.maxClientConnections ?? (defaults?.maxClientConnections as number);
  const servers: Server[] = workers.map((services, index) =>
    createCacheServer(
      {
        ...services,
        logger: loggerOf(workerCount > 1 ? index + 1 : 0),
        headers: options.headers ?? {},
        accessLog: true,
      },
      {
        sendTimeoutMs: options.sendTimeoutMs ?? (defaults?.sendTimeout.milliseconds as number),
        // As main.ts splits it: connections are spread over the workers in turn.
        maxClientConnections: Math.ceil(maxClientConnections / workerCount),
        sendFile: options.sendFile ?? true,
      },
    ),
  );
  // Connections handed to the workers in turn, as Node's cluster does. The HTTP servers never
  // listen themselves, so they track no connections (`closeAllConnections` finds none): the front
  // keeps them, to close them all when the cache closes (a client's idle keep-alive connection
  // would otherwise hold `close` for seconds).
  let next = 0;
  const connections = new Set<Socket>();
  const front = createNetServer((socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    servers[next++ % servers.length]?.emit('connection', socket);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const first = workers[0] as BuiltCacheServices;
  return {
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    workers: workerCount,
    cache: first.cache,
    upstream: first.upstream,
    keys: first.keys,
    expiry,
    logs,
    results: (digest) =>
      logs
        .filter((line) => line['msg'] === 'blob request' && line['digest'] === digest.toString())
        .map((line) => line['cache']),
    async close() {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      for (const socket of connections) socket.destroy();
      await closed;
      await built.release();
    },
  };
}

/** The cache as one process: its own expiry, no primary. */
async function oneProcess(
  options: Omit<CacheServicesOptions, 'logger'>,
  logger: Logger,
): Promise<InProcessWorkers> {
  const services = await buildCacheServices({ ...options, logger });
  return { workers: [services], expiry: services.expiry, release: () => services.release() };
}

/**
 * A memory driver whose temp-file writes go through {@link onWrite}, for tests of how the cache
 * copes with its disk (slow, full). By default a write just happens.
 */
export class InterceptingDriver extends MemoryDriver {
  /** Called for each write to a temp file: `index` counts that file's writes from 0. */
  protected onWrite(
    _chunks: readonly Buffer[],
    write: () => Promise<void>,
    _index: number,
  ): Promise<void> {
    return write();
  }

  override async createTemp(): Promise<TempFile> {
    const temp = await super.createTemp();
    const write = temp.write.bind(temp);
    let writes = 0;
    return Object.assign(temp, {
      write: (chunks: readonly Buffer[]) => this.onWrite(chunks, () => write(chunks), writes++),
    });
  }
}

/** A client's GET of a blob that stops reading after the first bytes, until `finish`. */
export interface HeldPull {
  readonly response: IncomingMessage;
  /** The bytes received before it stopped. */
  readonly first: Buffer;
  /** Reads on to the end: the whole body, and whether it ended complete (not aborted). */
  finish(): Promise<{ complete: boolean; body: Buffer }>;
}

/** Starts a GET of `url` and returns once its first bytes arrived, with the client paused. */
export async function holdPull(url: string): Promise<HeldPull> {
  const response = await new Promise<IncomingMessage>((resolve, reject) =>
    get(url, resolve).on('error', reject),
  );
  const first = await new Promise<Buffer>((resolve) => response.once('data', resolve));
  response.pause();
  const chunks = [first];
  const finish = () =>
    new Promise<{ complete: boolean; body: Buffer }>((resolve) => {
      const done = (complete: boolean) => resolve({ complete, body: Buffer.concat(chunks) });
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => done(response.complete));
      response.once('error', () => done(false));
      response.resume();
    });
  return { response, first, finish };
}

import { IssueCollector, show } from './config-error';
import {
  absolutePathFormat,
  byteSizeFormat,
  durationFormat,
  httpUrlFormat,
  listOf,
  oneOf,
  type ConfigFormat,
  yamlValue,
} from './config-format';
import { unknownKeyMessage } from './unknown-key-message';
import type { Duration } from './formats/duration';

/**
 * How a cache picks among its `upstreamhosts`: `roundrobin` (the documented behaviour) takes them in
 * turn; `digest` ranks them by rendezvous hashing of the blob's digest, so each blob is fetched
 * from one member of an upstream cache group (and stored there once).
 */
export type UpstreamPolicy = 'roundrobin' | 'digest';

/** One upstream of the content cache: the origin (DTR) and, for chaining, upstream caches. */
export interface Upstream {
  /** Externally reachable address of the origin registry (DTR). */
  readonly originHost: URL;
  /** Upstream content caches, picked by `upstreamPolicy`; empty means fill from `originHost`. */
  readonly upstreamHosts: readonly URL[];
  /** Extension of the documented format (`upstreampolicy`): how `upstreamHosts` are picked. */
  readonly upstreamPolicy: UpstreamPolicy;
}

/** Options of the `downstream` registry middleware (the content cache). */
export interface DownstreamOptions {
  /** Blobs not pulled within this time are deleted; undefined keeps blobs forever. */
  readonly blobTtl: Duration | undefined;
  readonly upstreams: readonly Upstream[];
  /** Absolute paths of PEM CA certificates trusted for upstream connections. */
  readonly cas: readonly string[];
  /**
   * Extension of the documented format: the most bytes of blobs kept; beyond it the least
   * recently pulled blobs are evicted. Undefined: no limit.
   */
  readonly maxSize: number | undefined;
  /**
   * Extension of the documented format: the most bytes of small blobs (up to
   * {@link MEMORY_TIER_MAX_BLOB_SIZE} each) also kept in memory, the most recently pulled ones,
   * served without reading the disk. 0: none.
   */
  readonly memorySize: number;
  /**
   * Extension of the documented format: a response whose client takes none of the bytes waiting
   * for it for this long is closed.
   */
  readonly sendTimeout: Duration;
  /**
   * Extension of the documented format: the most connections served at once per client address
   * (IPv6: per /64); a request on a connection beyond it is answered 429.
   */
  readonly maxClientConnections: number;
  /**
   * Extension of the documented format: worker processes serving the one listening socket and the
   * one store; undefined: as many as the cores available.
   */
  readonly workers: number | undefined;
}

/** The largest blob the memory tier (`memorysize`) keeps. */
export const MEMORY_TIER_MAX_BLOB_SIZE = 1024 * 1024;
/** `memorysize` when unset. */
export const DEFAULT_MEMORY_SIZE = 64 * 1024 * 1024;
/** `sendtimeout` when unset. */
const DEFAULT_SEND_TIMEOUT = '60s';
/** `maxclientconnections` when unset. */
const DEFAULT_MAX_CLIENT_CONNECTIONS = 256;
/** The largest `maxclientconnections`. */
const MAX_CLIENT_CONNECTIONS_LIMIT = 1_000_000;

/** A configured registry middleware. Only `downstream` exists in this project. */
export interface RegistryMiddleware {
  readonly name: 'downstream';
  readonly options: DownstreamOptions;
}

const MIDDLEWARE_KEYS = ['name', 'options'];
const DOWNSTREAM_KEYS = [
  'blobttl',
  'upstreams',
  'cas',
  'maxsize',
  'memorysize',
  'sendtimeout',
  'maxclientconnections',
  'workers',
];
const UPSTREAM_KEYS = ['originhost', 'upstreamhosts', 'upstreampolicy'];
const upstreamPolicyFormat = oneOf<UpstreamPolicy>('upstream-policy', ['roundrobin', 'digest']);

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function reportUnknownKeys(
  issues: IssueCollector,
  path: string,
  value: Record<string, unknown>,
  known: string[],
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) issues.add(`${path}.${key}`, unknownKeyMessage(key, known));
  }
}

const urlList = listOf(httpUrlFormat);
const CLIENT_CONNECTIONS_EXPECTED = `a whole number from 1 to ${MAX_CLIENT_CONNECTIONS_LIMIT}`;

/** The largest `workers`. */
const MAX_WORKERS = 1024;
const WORKERS_EXPECTED = `a whole number from 1 to ${MAX_WORKERS}`;

/** A whole number from 1 to `max` (a YAML number, or its text from the environment). */
function parseWholeNumber(value: unknown, max: number, expected: string): number {
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1 || number > max)
    throw new Error(`${show(value)} is not ${expected}`);
  return number;
}

const pathList = listOf(absolutePathFormat);

function parseUpstream(value: unknown, path: string, issues: IssueCollector): Upstream | undefined {
  if (typeof value === 'string') {
    const originHost = issues.attempt(path, () => httpUrlFormat.parse(value));
    return originHost && { originHost, upstreamHosts: [], upstreamPolicy: 'roundrobin' };
  }
  if (!isMapping(value)) {
    issues.add(
      path,
      `${show(value)} is not an upstream (use a URL, or originhost with optional upstreamhosts)`,
    );
    return undefined;
  }
  reportUnknownKeys(issues, path, value, UPSTREAM_KEYS);
  if (value['originhost'] === undefined || value['originhost'] === null) {
    issues.add(
      `${path}.originhost`,
      'is required (the externally reachable URL of the origin registry)',
    );
    return undefined;
  }
  const originHost = issues.attempt(`${path}.originhost`, () =>
    httpUrlFormat.parse(value['originhost']),
  );
  const upstreamHosts =
    value['upstreamhosts'] === undefined || value['upstreamhosts'] === null
      ? []
      : issues.attempt(`${path}.upstreamhosts`, () => urlList.parse(value['upstreamhosts']));
  const upstreamPolicy =
    value['upstreampolicy'] === undefined || value['upstreampolicy'] === null
      ? 'roundrobin'
      : issues.attempt(`${path}.upstreampolicy`, () =>
          upstreamPolicyFormat.parse(value['upstreampolicy']),
        );
  return originHost && upstreamHosts && upstreamPolicy
    ? { originHost, upstreamHosts, upstreamPolicy }
    : undefined;
}

/**
 * Parses the `options` of the `downstream` middleware. Issues are reported relative to the
 * options (`.blobttl`, `.upstreams[0].originhost`).
 */
export function parseDownstreamOptions(
  value: unknown,
  issues: IssueCollector,
  path: string,
): DownstreamOptions | undefined {
  if (!isMapping(value)) {
    issues.add(
      path,
      `${show(value)} is not a mapping (expected keys: ${DOWNSTREAM_KEYS.join(', ')})`,
    );
    return undefined;
  }
  reportUnknownKeys(issues, path, value, DOWNSTREAM_KEYS);
  const blobTtl =
    value['blobttl'] === undefined || value['blobttl'] === null
      ? undefined
      : issues.attempt(`${path}.blobttl`, () => durationFormat.parse(value['blobttl']));
  const rawUpstreams = value['upstreams'];
  let upstreams: Upstream[] = [];
  if (rawUpstreams === undefined || rawUpstreams === null) {
    issues.add(`${path}.upstreams`, 'is required (at least one upstream with an originhost)');
  } else if (!Array.isArray(rawUpstreams) || rawUpstreams.length === 0) {
    issues.add(`${path}.upstreams`, `${show(rawUpstreams)} is not a non-empty list of upstreams`);
  } else {
    upstreams = rawUpstreams
      .map((upstream, index) => parseUpstream(upstream, `${path}.upstreams[${index}]`, issues))
      .filter((upstream): upstream is Upstream => upstream !== undefined);
  }
  const cas =
    value['cas'] === undefined || value['cas'] === null
      ? []
      : (issues.attempt(`${path}.cas`, () => pathList.parse(value['cas'])) ?? []);
  const maxSize =
    value['maxsize'] === undefined || value['maxsize'] === null
      ? undefined
      : issues.attempt(`${path}.maxsize`, () => {
          const bytes = byteSizeFormat.parse(value['maxsize']);
          if (bytes <= 0) throw new Error(`${show(value['maxsize'])} must be a positive byte size`);
          return bytes;
        });
  const memorySize =
    value['memorysize'] === undefined || value['memorysize'] === null
      ? DEFAULT_MEMORY_SIZE
      : (issues.attempt(`${path}.memorysize`, () => byteSizeFormat.parse(value['memorysize'])) ??
        DEFAULT_MEMORY_SIZE);
  const sendTimeout =
    value['sendtimeout'] === undefined || value['sendtimeout'] === null
      ? durationFormat.parse(DEFAULT_SEND_TIMEOUT)
      : (issues.attempt(`${path}.sendtimeout`, () => durationFormat.parse(value['sendtimeout'])) ??
        durationFormat.parse(DEFAULT_SEND_TIMEOUT));
  const maxClientConnections =
    value['maxclientconnections'] === undefined || value['maxclientconnections'] === null
      ? DEFAULT_MAX_CLIENT_CONNECTIONS
      : (issues.attempt(`${path}.maxclientconnections`, () =>
          parseWholeNumber(
            value['maxclientconnections'],
            MAX_CLIENT_CONNECTIONS_LIMIT,
            CLIENT_CONNECTIONS_EXPECTED,
          ),
        ) ?? DEFAULT_MAX_CLIENT_CONNECTIONS);
  const workers =
    value['workers'] === undefined || value['workers'] === null
      ? undefined
      : issues.attempt(`${path}.workers`, () =>
          parseWholeNumber(value['workers'], MAX_WORKERS, WORKERS_EXPECTED),
        );
  return {
    blobTtl,
    upstreams,
    cas,
    maxSize,
    memorySize,
    sendTimeout,
    maxClientConnections,
    workers,
  };
}

/** `middleware.registry`: a list of `{name, options}`; `downstream` at most once. */
export const registryMiddlewareListFormat: ConfigFormat<RegistryMiddleware[]> = {
  name: 'registry-middleware-list',
  expected: 'a list of {name, options}; the supported middleware is downstream',
  parse(value) {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) throw new Error(`${show(value)} is not a list of middlewares`);
    const issues = new IssueCollector();
    const middlewares: RegistryMiddleware[] = [];
    value.forEach((entry: unknown, index) => {
      const path = `[${index}]`;
      if (!isMapping(entry)) {
        issues.add(path, `${show(entry)} is not a middleware (expected name and options)`);
        return;
      }
      reportUnknownKeys(issues, path, entry, MIDDLEWARE_KEYS);
      if (entry['name'] !== 'downstream') {
        issues.add(
          `${path}.name`,
          `${show(entry['name'])} is not a supported registry middleware (supported: downstream)`,
        );
        return;
      }
      if (middlewares.some((middleware) => middleware.name === 'downstream')) {
        issues.add(path, 'the downstream middleware is configured more than once');
        return;
      }
      const options = parseDownstreamOptions(entry['options'], issues, `${path}.options`);
      if (options) middlewares.push({ name: 'downstream', options });
    });
    issues.throwIfAny();
    return middlewares;
  },
  fromText: yamlValue,
};

/**
 * The `downstream` middleware's options, documented for the generated configuration reference.
 * Kept beside the parser above: each option here is one it reads.
 */
export function describeDownstreamOptions(): Array<{
  path: string;
  required: boolean;
  expected: string;
  doc: string;
}> {
  return [
    {
      path: 'blobttl',
      required: false,
      expected: durationFormat.expected,
      doc: 'A blob not pulled within this time is deleted (last-pull semantics, kept across restarts). No unit means nanoseconds. Requires storage.delete.enabled: true. Unset: blobs are kept.',
    },
    {
      path: 'upstreams[].originhost',
      required: true,
      expected: httpUrlFormat.expected,
      doc: 'Externally reachable URL of the origin registry (DTR). Fills come from it when no upstreamhosts are given.',
    },
    {
      path: 'upstreams[].upstreamhosts',
      required: false,
      expected: urlList.expected,
      doc: 'Upstream content caches (chaining), picked by upstreampolicy with failover; a host that keeps failing is skipped for a while. Blob grant keys are fetched from them.',
    },
    {
      path: 'upstreams[].upstreampolicy',
      required: false,
      expected: upstreamPolicyFormat.expected,
      doc: 'Extension of the documented format: how upstreamhosts are picked for a blob. roundrobin (the default, the documented behaviour) takes them in turn, so with the members of one upstream cache group every member fetches and stores every blob; digest ranks them by rendezvous (highest-random-weight) hashing of the blob digest and fails over down that ranking, so one member fetches and stores each blob once for the group, and a member that fails moves only its own share. Grant keys and other requests stay round-robin.',
    },
    {
      path: 'cas',
      required: false,
      expected: pathList.expected,
      doc: 'PEM CA certificates trusted, besides the system store, for connections to the upstreams.',
    },
    {
      path: 'maxsize',
      required: false,
      expected: byteSizeFormat.expected,
      doc: 'Extension of the documented format: the most bytes of blobs kept; beyond it the least recently pulled blobs are evicted. Unset: no limit.',
    },
    {
      path: 'memorysize',
      required: false,
      expected: byteSizeFormat.expected,
      doc: `Extension of the documented format: the most bytes of small blobs (up to ${MEMORY_TIER_MAX_BLOB_SIZE / 1024} KiB each), the most recently pulled, also kept in memory and served without reading the disk. 0 turns it off. Unset: ${DEFAULT_MEMORY_SIZE / 1024 / 1024} MiB.`,
    },
    {
      path: 'sendtimeout',
      required: false,
      expected: durationFormat.expected,
      doc: `Extension of the documented format: a response whose client has taken none of the bytes waiting for it (no write to it completed, its socket did not drain) for this long is closed. What a response holds meanwhile is bounded: a disk hit one 64 KiB chunk (16 KiB over TLS) until its client has taken 8 MiB, then at most two 1 MiB chunks (one being sent, one read ahead; 64 MiB of these for all responses together); see docs/architecture.md. Unset: ${DEFAULT_SEND_TIMEOUT}.`,
    },
    {
      path: 'maxclientconnections',
      required: false,
      expected: CLIENT_CONNECTIONS_EXPECTED,
      doc: `Extension of the documented format: the most connections served at once per client address, as the socket sees it (IPv6: per /64; no proxy header is trusted). A request on a connection beyond it is answered 429 TOOMANYREQUESTS with Retry-After, and the connection closed; beyond twice as many, connections are closed as they are accepted. With several workers, each serves its share of it (connections are handed to the workers in turn). Unset: ${DEFAULT_MAX_CLIENT_CONNECTIONS}.`,
    },
    {
      path: 'workers',
      required: false,
      expected: WORKERS_EXPECTED,
      doc: 'Extension of the documented format: worker processes sharing the listening socket and the store (filesystem storage only). A miss is fetched from upstream once whichever worker its clients reach; a worker that dies is replaced. 1: one process. Unset: as many as the cores available.',
    },
  ];
}

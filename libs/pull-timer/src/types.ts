import type { CacheResult, CacheRoute } from '@dtr-cache/registry-protocol';

/** What to pull and as whom. */
export interface PullTarget {
  /** DTR's base URL, e.g. `https://dtr.example.com` (http allowed, for tests and benchmarks). */
  readonly dtr: string;
  readonly username: string;
  readonly password: string;
  /** `namespace/repo:tag` or `namespace/repo@sha256:…` (default tag `latest`). */
  readonly image: string;
  /** PEM CA certificates trusted besides Node's defaults (DTR's and the caches'). */
  readonly ca?: readonly (string | Buffer)[] | undefined;
  /** For an image index: the platform to pull, `os/arch[/variant]` (default `linux/amd64`). */
  readonly platform?: string | undefined;
}

/** How to pull. */
export interface PullOptions {
  /** Sent as X-Content-Cache-Route on every blob request; undefined: as the user's setting goes. */
  readonly route?: CacheRoute | undefined;
  /** Blobs downloaded at once (docker's default: 3). */
  readonly concurrency?: number | undefined;
  /** Gives up on a request that makes no progress for this long (default 60 s). */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** One blob of a pull. */
export interface BlobTiming {
  readonly digest: string;
  readonly size: number;
  /** The base URL that sent the bytes: DTR, or the cache member DTR redirected to. */
  readonly servedBy: string;
  /** The answer's X-Content-Cache, or `origin` when DTR itself sent the bytes. */
  readonly result: CacheResult | 'origin';
  /** From the blob request to DTR until the first body byte (redirect included), ms. */
  readonly firstByteMs: number;
  /** From the blob request to DTR until the last byte was read and its digest checked, ms. */
  readonly totalMs: number;
}

/** One timed pull of one image. */
export interface PullTiming {
  /** `formatCacheRoute(route)`, or `setting` when no route was asked. */
  readonly route: string;
  readonly image: string;
  /** ISO time the pull started. */
  readonly startedAt: string;
  /** Token and manifest(s), ms (before the first blob request). */
  readonly manifestMs: number;
  /** From the start until the first blob byte, ms. */
  readonly firstByteMs: number;
  /** From the start until every blob was read and verified, ms. */
  readonly totalMs: number;
  /** Blob bytes read (config and layers). */
  readonly bytes: number;
  /** bytes / totalMs, in MB/s (10^6 bytes). */
  readonly megabytesPerSecond: number;
  /** Config first, then the layers in manifest order. */
  readonly blobs: readonly BlobTiming[];
}

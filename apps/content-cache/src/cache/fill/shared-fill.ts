import type { Readable } from 'node:stream';
import type { BlobInfo } from '@dtr-cache/blob-store';
import type { ByteRange, Digest } from '@dtr-cache/registry-protocol';
import type { BlobFill } from './blob-fill';
import type { PassThrough } from './pass-through';

/**
 * A fill as the caching store uses it: a {@link BlobFill} of this process, or another process's
 * fill this one reads as it is written (see the cluster's `RemoteFill`).
 */
export interface SharedFill {
  readonly size: number;
  /** True for the fill of another process (its clients here count as coalesced). */
  readonly remote: boolean;
  /** True if the blob goes to the store (false: a fill that keeps nothing). */
  readonly kept: boolean;
  /** True once the blob is verified and stored: serve it from the store from then on. */
  readonly committed: boolean;
  /** True once the fill ended without keeping the blob: a client asking now needs a new one. */
  readonly spent: boolean;
  /** Settles when the fill ended: fulfilled if committed (or kept nothing), rejected if it failed. */
  readonly done: Promise<BlobInfo | undefined>;
  /** A client's stream of the blob (or `range`), ending only once verified. Streams. */
  reader(range?: ByteRange): Readable;
  /** Takes back a chunk a reader emitted, once its write to the client completed. */
  recycle(chunk: Buffer): void;
}

/** This process's say in a fill shared with other processes: own it, or join another's. */
export type FillClaim =
  | {
      readonly owner: true;
      /** Reports the fill this process starts (or its failure to start) to the others. */
      report(filling: Promise<BlobFill>): void;
    }
  | { readonly owner: false; readonly fill: SharedFill };

/** Fills shared by the processes of one cache (its workers): one download per digest. */
export interface FillCoordination {
  /**
   * Claims the fill of `digest`: this process downloads it, or reads the download of another.
   * `rest` is where a joiner's clients get the rest of the blob if that other process goes away.
   */
  claim(digest: Digest, rest: PassThrough): Promise<FillClaim>;
}

import { type Readable, Transform } from 'node:stream';
import {
  type ByteRange,
  createDigestVerifier,
  type Digest,
  isRangeWithin,
  type PrefixDigest,
  rangeNotSatisfiable,
} from '@dtr-cache/registry-protocol';
import type { UpstreamClient } from '../../upstream/upstream-client';

/** What a miss needs to fetch from upstream: the repository and the client's grant. */
export interface FillContext {
  readonly repository: string;
  readonly grant: string;
}

/**
 * A blob served to one client from another source, verified: for a client a fill left behind
 * (the disk filled up, it fell behind a fill that keeps nothing, or the fill's process died). The
 * source is upstream ({@link UpstreamPassThrough}: a download of the client's own, nothing kept)
 * or a new fill shared by the cache's processes.
 */
export interface PassThrough {
  /**
   * The blob (or `range` of it) from the source. The whole blob is read and verified, so the
   * body ends only once verified; with `sent`, its first bytes must also be those a client was
   * already sent. Streams.
   * @throws the upstream's refusal; `RANGE_INVALID` for a range outside the blob.
   */
  open(range: ByteRange | undefined, sent?: PrefixDigest): Promise<Readable>;
}

/** A whole blob as some source has it, not yet verified. */
export interface UnverifiedBlob {
  readonly size: number;
  readonly stream: Readable;
}

/** The {@link PassThrough} of one digest whose whole blob `openWhole` opens, verified here. */
export class VerifyingPassThrough implements PassThrough {
  constructor(
    private readonly digest: Digest,
    private readonly openWhole: () => Promise<UnverifiedBlob>,
  ) {}

  async open(range: ByteRange | undefined, sent?: PrefixDigest): Promise<Readable> {
    const whole = await this.openWhole();
    if (!isRangeWithin(range, whole.size)) {
      whole.stream.destroy();
      throw rangeNotSatisfiable(whole.size);
    }
    const verified = whole.stream.pipe(
      createDigestVerifier(this.digest, whole.size, { prefix: sent }),
    );
    whole.stream.once('error', (error: Error) => verified.destroy(error));
    if (!range) return verified;
    const slice = verified.pipe(sliceOf(range));
    verified.once('error', (error) => slice.destroy(error));
    return slice;
  }
}

/** The {@link PassThrough} of one digest from an {@link UpstreamClient}, with a client's grant. */
export class UpstreamPassThrough extends VerifyingPassThrough {
  constructor(upstream: UpstreamClient, digest: Digest, context: FillContext) {
    super(digest, () => upstream.getBlob(context.repository, digest, context.grant));
  }
}

/** Passes on only the bytes of an inclusive range, holding the last back until the source ends. */
function sliceOf(range: ByteRange): Transform {
  let position = 0;
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const from = Math.max(range.start - position, 0);
      const to = Math.min(range.end + 1 - position, chunk.length);
      position += chunk.length;
      if (held) this.push(held);
      held = to > from ? chunk.subarray(from, to) : undefined;
      callback();
    },
    flush(callback) {
      callback(null, held);
    },
  });
}

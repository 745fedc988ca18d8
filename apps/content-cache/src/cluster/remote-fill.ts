import { Readable } from 'node:stream';
import type { BlobInfo, TailableBlobStore, TailedFile } from '@dtr-cache/blob-store';
import {
  type ByteRange,
  type Digest,
  DigestHasher,
  type PrefixDigest,
} from '@dtr-cache/registry-protocol';
import { FillSignal } from '../cache/fill/fill-signal';
import type { PassThrough, SharedFill } from '../cache/fill';
import type { FillUpdate, SharedFillState } from './cluster-messages';

/** Bytes read from the owner's file at once. */
const READ_CHUNK = 1024 * 1024;

/**
 * The fill of a blob by another worker (its owner), read by this worker's clients as the owner
 * writes it: from the owner's file (or the stored blob once committed), as far as the owner
 * reported it written. A client's last bytes wait for the owner's word that the blob verified, so
 * no body completes with unverified bytes; if the owner's fill failed every client is cut off. If
 * the owner is gone (it died, its disk filled up), each client gets the rest from `rest` (a new
 * fill its workers share), checked to begin with the bytes of the owner's file it was sent.
 */
export class RemoteFill implements SharedFill {
  readonly kept = true;
  readonly remote = true;
  readonly done: Promise<BlobInfo | undefined>;
  private settleDone!: (error?: Error) => void;
  private state: SharedFillState;
  private readonly signal = new FillSignal();
  private file: Promise<TailedFile> | undefined;
  private opened: TailedFile | undefined;
  private readers = 0;

  constructor(
    private readonly digest: Digest,
    initial: SharedFillState,
    private readonly store: TailableBlobStore,
    private readonly rest: PassThrough,
  ) {
    this.state = initial;
    this.done = new Promise((resolve, reject) => {
      this.settleDone = (error) => (error ? reject(error) : resolve(undefined));
    });
    this.done.catch(() => undefined);
    if (initial.ended) this.settle();
  }

  get size(): number {
    return this.state.size;
  }

  get committed(): boolean {
    return this.state.ended === 'committed';
  }

  get spent(): boolean {
    return this.state.ended !== undefined && this.state.ended !== 'committed';
  }

  /** Applies a report of the owner relayed by the primary. */
  update(update: FillUpdate): void {
    if (this.state.ended) return;
    // (Reports kept from before this fill's snapshot may be older than it: never go back.)
    if (update.type === 'written')
      this.state = { ...this.state, written: Math.max(this.state.written, update.bytes) };
    else if (update.type === 'verified') this.state = { ...this.state, verified: true };
    else if (update.type === 'ended') {
      this.state = { ...this.state, ended: update.end };
      this.settle();
    }
    this.signal.notify();
  }

  readonly recycle = (chunk: Buffer): void => this.opened?.recycle?.(chunk);

  private settle(): void {
    if (this.state.ended === 'failed')
      this.settleDone(new Error('the fill of another worker failed'));
    else this.settleDone();
    void this.releaseIfIdle();
  }

  reader(range?: ByteRange): Readable {
    this.readers += 1;
    const start = range?.start ?? 0;
    const end = range?.end ?? this.size - 1;
    let started = false;
    const generate = async function* (this: RemoteFill): AsyncGenerator<Buffer> {
      started = true;
      let offset = start;
      try {
        while (offset <= end) {
          const { ended, written } = this.state;
          if (ended === 'failed') throw new Error('the fill of another worker failed');
          if (ended === 'abandoned') {
            yield* await this.carryOn(offset, start, end, range);
            return;
          }
          const available = Math.min(ended === 'committed' ? this.size : written, end + 1);
          if (offset >= available) {
            await this.signal.changed;
            continue;
          }
          const file = await this.openFile();
          const chunk = await file.readAt(offset, Math.min(available - offset, READ_CHUNK));
          if (chunk.length === 0) throw new Error('the blob being filled could not be read back');
          // The last bytes wait for the owner's word that the blob verified.
          if (offset + chunk.length > end) {
            while (!this.state.verified && !this.state.ended) await this.signal.changed;
            if (!this.state.verified && this.state.ended !== 'committed') {
              file.recycle?.(chunk);
              continue;
            }
          }
          offset += chunk.length;
          yield chunk;
        }
      } finally {
        this.readers -= 1;
        await this.releaseIfIdle();
      }
    }.bind(this);
    const stream = Readable.from(generate(), { objectMode: false, highWaterMark: READ_CHUNK });
    stream.once('close', () => {
      if (started) return;
      this.readers -= 1;
      void this.releaseIfIdle();
    });
    return stream;
  }

  /**
   * The rest of a client's body (`offset` to `end`) after the owner went away, from a source whose
   * first `offset` bytes must be those of the owner's file (the client was sent some).
   */
  private async carryOn(
    offset: number,
    start: number,
    end: number,
    range: ByteRange | undefined,
  ): Promise<Readable> {
    if (offset === start) return this.rest.open(range);
    return this.rest.open({ start: offset, end }, await this.prefix(offset));
  }

  /** The digest of the first `length` bytes of the owner's file. */
  private async prefix(length: number): Promise<PrefixDigest> {
    const file = await this.openFile();
    const hasher = new DigestHasher(this.digest.algorithm);
    for (let offset = 0; offset < length;) {
      const chunk = await file.readAt(offset, Math.min(READ_CHUNK, length - offset));
      if (chunk.length === 0) throw new Error("the owner's file is shorter than what was sent");
      hasher.update(chunk);
      offset += chunk.length;
      file.recycle?.(chunk);
    }
    return hasher.peek();
  }

  private openFile(): Promise<TailedFile> {
    this.file ??= this.store.tailWriter(this.state.key, this.digest).then((file) => {
      this.opened = file;
      return file;
    });
    return this.file;
  }

  private async releaseIfIdle(): Promise<void> {
    if (!this.state.ended || this.readers > 0 || !this.file) return;
    const file = this.file;
    this.file = undefined;
    this.opened = undefined;
    await (await file.catch(() => undefined))?.close();
  }
}

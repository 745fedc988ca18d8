import { Readable } from 'node:stream';
import type { ByteRange } from '@dtr-cache/registry-protocol';
import { isDiskFull } from './disk-space';
import type { FillState } from './fill-state';

/** Bytes read back from the fill's file at once. */
const READ_CHUNK = 1024 * 1024;

/**
 * A client's stream of a fill's blob (or of `range`), tailing it at the client's own pace: the
 * newest bytes from the hand-off window, older ones read back from the file. Its last bytes wait
 * until the blob is verified, so a body never completes with unverified bytes; on a failure it is
 * destroyed with the failure, except for a full disk, where the client gets the rest straight from
 * upstream (verified, and checked to begin with what it was sent). A client that falls behind the
 * window of a fill that keeps nothing gets the rest from its own download the same way.
 */
export function tailReader(fill: FillState, range?: ByteRange): Readable {
  fill.readerJoined();
  const start = range?.start ?? 0;
  const end = range?.end ?? fill.size - 1;
  const { signal, window, sink } = fill;
  let started = false;
  const generate = async function* (): AsyncGenerator<Buffer> {
    started = true;
    let offset = start;
    const position = fill.positions.add(offset);
    try {
      while (offset <= end) {
        if (fill.failure) throw fill.failure;
        const received = Math.min(window.received, end + 1);
        const onDisk = Math.min(sink.written, end + 1);
        const inMemory = offset < received ? window.slice(offset, received - offset) : undefined;
        if (inMemory || offset < onDisk) {
          const chunk =
            inMemory ?? (await sink.readWritten(offset, Math.min(onDisk - offset, READ_CHUNK)));
          if (chunk.length === 0) throw new Error('the blob being filled could not be read back');
          // The last bytes wait for verification. (Meanwhile the client needs the rest of the
          // download, not the window: it does not hold back a fill that keeps nothing.)
          if (offset + chunk.length > end) {
            position.offset = Number.POSITIVE_INFINITY;
            if (!fill.kept) signal.notify();
            await fill.verified;
          }
          offset += chunk.length;
          position.offset = Math.max(position.offset, offset);
          // A fill that keeps nothing paces itself to its fastest client.
          if (!fill.kept) signal.notify();
          yield chunk;
        } else if (!fill.kept && offset < received) {
          // Fell behind the window of a fill that keeps nothing: the rest from its own download.
          fill.positions.remove(position);
          yield* await fill.rest(offset, end);
          return;
        } else if (fill.finished) {
          throw fill.failure ?? new Error('the fill ended before the requested bytes');
        } else {
          await signal.changed;
        }
      }
      await fill.verified;
    } catch (error) {
      fill.positions.remove(position);
      // The disk filled up (the reading back may fail too, as the file goes): the client is
      // served the rest straight from upstream (verified, not kept).
      if (!isDiskFull(fill.failure ?? error)) throw error;
      yield* await (offset === start ? fill.passThrough.open(range) : fill.rest(offset, end));
    } finally {
      fill.positions.remove(position);
      // (A fill that keeps nothing waits for its clients: this may have been the last.)
      if (!fill.kept) signal.notify();
      await fill.readerLeft();
    }
  };
  const stream = Readable.from(generate(), { objectMode: false, highWaterMark: READ_CHUNK });
  // Destroyed before its first read (a client that only wanted the size): the generator never
  // ran, so its `finally` will not let go of the fill.
  stream.once('close', () => {
    if (!started) void fill.readerLeft();
  });
  return stream;
}

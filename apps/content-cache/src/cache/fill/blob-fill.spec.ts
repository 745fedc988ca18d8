import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { DriverBlobStore, MemoryDriver } from '@dtr-cache/blob-store';
import { Digest } from '@dtr-cache/registry-protocol';
import { describe, expect, it } from 'vitest';
import type { UpstreamBlob } from '../../upstream/upstream-client';
import { BlobFill } from './blob-fill';

const MiB = 1024 * 1024;

/** An upstream answer streaming `content` in 64 KiB chunks (each its own memory), as read. */
function upstreamOf(content: Buffer): UpstreamBlob {
  const chunks = function* () {
    for (let offset = 0; offset < content.length; offset += 64 * 1024)
      yield Buffer.from(content.subarray(offset, offset + 64 * 1024));
  };
  return {
    size: content.length,
    stream: Readable.from(chunks(), { objectMode: false }) as unknown as IncomingMessage,
    host: new URL('http://upstream.invalid'),
  };
}

const noPassThrough = {
  open: () => Promise.reject(new Error('no client should need its own download')),
};

describe('a fill that keeps nothing', () => {
  it('holds no more than its lead over a slow client, and hands it every byte', async () => {
    const content = randomBytes(48 * MiB);
    const fill = BlobFill.transient(Digest.of(content), upstreamOf(content), noPassThrough);
    const received: Buffer[] = [];
    let held = 0;
    for await (const chunk of fill.reader()) {
      received.push(chunk as Buffer);
      held = Math.max(held, fill.heldBytes);
      // A client far slower than the upstream.
      if (received.length % 64 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(Buffer.concat(received).equals(content)).toBe(true);
    // Its 8 MiB lead and a chunk, not its 32 MiB window: what the client read is dropped.
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(8 * MiB + 64 * 1024);
    await fill.done;
    expect(fill.heldBytes).toBe(0);
  });
});

/**
 * One reader destroyed before its first read, then another reading the whole blob (checked), and
 * the fill's end.
 */
async function readAfterAnAbandonedReader(fill: BlobFill, content: Buffer): Promise<void> {
  fill.reader().destroy();
  const received: Buffer[] = [];
  for await (const chunk of fill.reader()) received.push(chunk as Buffer);
  expect(Buffer.concat(received).equals(content)).toBe(true);
  await fill.done;
  await new Promise((resolve) => setImmediate(resolve));
}

describe('a reader destroyed before its first read (a Range request on a miss learning the size)', () => {
  it('is let go of: the fill drops its window and releases its file once the others are done', async () => {
    const content = randomBytes(24 * MiB);
    const fill = BlobFill.transient(Digest.of(content), upstreamOf(content), noPassThrough);
    await readAfterAnAbandonedReader(fill, content);
    expect(fill.heldBytes).toBe(0);
  });

  it('lets a kept fill release its file once the others are done', async () => {
    const content = randomBytes(4 * MiB);
    const store = new DriverBlobStore(new MemoryDriver());
    let released = 0;
    const writers = {
      createTailable: async () => {
        const writer = await store.createTailable();
        const release = writer.releaseReader.bind(writer);
        return Object.assign(writer, {
          releaseReader: () => {
            released += 1;
            return release();
          },
        });
      },
    };
    const digest = Digest.of(content);
    const fill = await BlobFill.start(
      writers,
      digest,
      Promise.resolve(upstreamOf(content)),
      noPassThrough,
    );
    await readAfterAnAbandonedReader(fill, content);
    expect(released).toBe(1);
    expect(await store.stat(digest)).toMatchObject({ size: content.length });
  });
});

import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilesystemDriver } from './filesystem-driver';
import { FileNotFoundError } from './storage-driver';
import { BufferPool, READ_BUFFERS } from './buffer-pool';
import { OpenFileCache } from './open-file-cache';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Descriptors of this process that point at files under `directory`. */
function openDescriptors(directory: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(directory)) count += 1;
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return count;
}

describe('OpenFileCache', () => {
  let directory: string;
  let cache: OpenFileCache;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'open-files-'));
    cache = new OpenFileCache({ capacity: 2, validMs: 60_000 });
  });
  afterEach(async () => {
    await cache.close();
    await rm(directory, { recursive: true, force: true });
  });

  const file = async (name: string, content: string) => {
    const path = join(directory, name);
    await writeFile(path, content);
    return path;
  };

  it('keeps a read file open: later reads and peeks need no open or stat', async () => {
    const path = await file('a', 'hello world');
    expect(cache.peek(path)).toBeUndefined();
    expect((await readAll(await cache.read(path, 0))).toString()).toBe('hello world');
    expect(cache.peek(path)).toMatchObject({ size: 11 });
    expect(openDescriptors(directory)).toBe(1);
    expect((await readAll(await cache.read(path, 6, 5))).toString()).toBe('world');
    expect((await readAll(await cache.read(path, 6, 100))).toString()).toBe('world');
    expect((await readAll(await cache.read(path, 11))).length).toBe(0);
    expect(openDescriptors(directory)).toBe(1);
  });

  it('keeps the shared descriptor open when a reader is destroyed mid-file', async () => {
    const content = Buffer.alloc(2 * 1024 * 1024, 7);
    const path = await file('big', content.toString());
    const first = await cache.read(path, 0);
    const second = await cache.read(path, 0);
    first.once('data', () => first.destroy());
    await new Promise((resolve) => first.once('close', resolve));
    expect((await readAll(second)).equals(content)).toBe(true);
    expect((await readAll(await cache.read(path, 0))).equals(content)).toBe(true);
    expect(openDescriptors(directory)).toBe(1);
  });

  it('reads later chunks into the memory of chunks handed back, and only of those', async () => {
    const content = randomBytes(5 * 1024 * 1024 + 123);
    const path = join(directory, 'big');
    await writeFile(path, content);

    const recycling = await cache.read(path, 0);
    const copies: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    for await (const chunk of recycling) {
      copies.push(Buffer.from(chunk as Buffer));
      memories.add((chunk as Buffer).buffer);
      recycling.recycle(chunk as Buffer);
    }
    expect(Buffer.concat(copies).equals(content)).toBe(true);
    // Six chunks: the short last one in memory of its own, the five others in at most two
    // buffers (the one being read ahead, and the one handed back).
    expect(copies.length).toBe(6);
    expect(memories.size).toBeLessThanOrEqual(3);

    const kept: Buffer[] = [];
    for await (const chunk of await cache.read(path, 0)) kept.push(chunk as Buffer);
    expect(Buffer.concat(kept).equals(content)).toBe(true);
    expect(new Set(kept.map((chunk) => chunk.buffer)).size).toBe(kept.length);
  });

  it('reads small chunks a batch at a time, and gives back what it read ahead of a consumer that stays paused', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 5);
    const path = join(directory, 'big');
    await writeFile(path, content);
    const pool = new BufferPool(READ_BUFFERS);
    const small = new OpenFileCache({ capacity: 2, validMs: 60_000 }, pool);
    try {
      const stream = await small.read(path, 0);
      stream.setReadSize?.(64 * 1024);
      const chunks: Buffer[] = [];
      const first = await new Promise<Buffer>((resolve) =>
        stream.once('data', (chunk: Buffer) => {
          stream.pause();
          resolve(chunk);
        }),
      );
      chunks.push(Buffer.from(first));
      expect(first.length).toBe(64 * 1024);
      // One read filled sixteen small buffers; the fifteen not emitted go back to the pool once
      // the consumer stayed paused a while, and nothing else is read.
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(pool.freeSmallCount).toBe(15);
      expect(stream.readableLength).toBe(0);
      stream.recycle(first);
      stream.on('data', (chunk: Buffer) => {
        expect(chunk.length).toBeLessThanOrEqual(64 * 1024);
        chunks.push(Buffer.from(chunk));
        stream.recycle(chunk);
      });
      stream.resume();
      await new Promise((resolve) => stream.once('end', resolve));
      expect(Buffer.concat(chunks).equals(content)).toBe(true);
    } finally {
      await small.close();
    }
  });

  it('reads one large chunk ahead of a paused consumer, and small chunks while it keeps up', async () => {
    const content = randomBytes(4 * 1024 * 1024);
    const path = join(directory, 'big');
    await writeFile(path, content);
    const large = await cache.read(path, 0);
    await new Promise<void>((resolve) =>
      large.once('data', () => {
        large.pause();
        resolve();
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(large.readableLength).toBe(1024 * 1024);
    large.destroy();

    const small = await cache.read(path, 0);
    small.setReadSize?.(16 * 1024);
    const chunks: Buffer[] = [];
    small.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => small.once('end', resolve));
    expect(chunks.every((chunk) => chunk.length === 16 * 1024)).toBe(true);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
  });

  it('evicts the least recently read file beyond its capacity', async () => {
    const [a, b, c] = await Promise.all([file('a', 'a'), file('b', 'b'), file('c', 'c')]);
    await readAll(await cache.read(a, 0));
    await readAll(await cache.read(b, 0));
    await readAll(await cache.read(a, 0));
    await readAll(await cache.read(c, 0));
    expect(cache.peek(a)).toBeDefined();
    expect(cache.peek(b)).toBeUndefined();
    expect(cache.peek(c)).toBeDefined();
    await expect.poll(() => openDescriptors(directory)).toBe(2);
  });

  it('closes an invalidated file only after its last reader is done', async () => {
    const content = 'x'.repeat(1024 * 1024);
    const path = await file('big', content);
    const stream = await cache.read(path, 0);
    cache.invalidate(path);
    await unlink(path);
    expect(cache.peek(path)).toBeUndefined();
    expect((await readAll(stream)).toString()).toBe(content);
    await expect.poll(() => openDescriptors(directory)).toBe(0);
    await expect(cache.read(path, 0)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('does not cache a file invalidated while it was being opened', async () => {
    const path = await file('a', 'abc');
    const reading = cache.read(path, 0);
    cache.invalidate(path);
    expect((await readAll(await reading)).toString()).toBe('abc');
    expect(cache.peek(path)).toBeUndefined();
  });

  it('looks at the path again once an open file is no longer trusted', async () => {
    const shortLived = new OpenFileCache({ capacity: 2, validMs: 50 });
    try {
      const path = await file('a', 'abc');
      await readAll(await shortLived.read(path, 0));
      await unlink(path);
      expect(shortLived.peek(path)).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(shortLived.peek(path)).toBeUndefined();
      await expect(shortLived.read(path, 0)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await shortLived.close();
    }
  });

  it('with capacity 0, opens and closes the file on every read', async () => {
    const uncached = new OpenFileCache({ capacity: 0, validMs: 60_000 });
    const path = await file('a', 'abc');
    expect((await readAll(await uncached.read(path, 1))).toString()).toBe('bc');
    expect(uncached.peek(path)).toBeUndefined();
    await expect.poll(() => openDescriptors(directory)).toBe(0);
    await uncached.close();
  });

  it('close() closes every idle file', async () => {
    const path = await file('a', 'abc');
    await readAll(await cache.read(path, 0));
    expect(openDescriptors(directory)).toBe(1);
    await cache.close();
    await expect.poll(() => openDescriptors(directory)).toBe(0);
  });
});

describe('FilesystemDriver with open files', () => {
  it('forgets a file it deleted or replaced, even though it was open', async () => {
    const root = await mkdtemp(join(tmpdir(), 'open-files-driver-'));
    const driver = new FilesystemDriver(root);
    try {
      const temp = await driver.createTemp();
      await temp.write([Buffer.from('first')]);
      await temp.sync();
      await driver.move(temp, 'blobs/x');
      expect((await readAll(await driver.read('blobs/x'))).toString()).toBe('first');
      expect(await driver.stat('blobs/x')).toMatchObject({ size: 5 });

      const replacement = await driver.createTemp();
      await replacement.write([Buffer.from('second!')]);
      await replacement.sync();
      await driver.move(replacement, 'blobs/x');
      expect(await driver.stat('blobs/x')).toMatchObject({ size: 7 });
      expect((await readAll(await driver.read('blobs/x'))).toString()).toBe('second!');

      const at = new Date('2026-01-02T03:04:05Z');
      await driver.touch('blobs/x', at);
      expect((await driver.stat('blobs/x'))?.lastAccessedAt.getTime()).toBe(at.getTime());

      expect(await driver.delete('blobs/x')).toBe(true);
      expect(await driver.stat('blobs/x')).toBeUndefined();
      await expect(driver.read('blobs/x')).rejects.toBeInstanceOf(FileNotFoundError);
    } finally {
      await driver.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

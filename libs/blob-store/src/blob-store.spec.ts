import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Digest } from '@dtr-cache/registry-protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectSameBytes, interceptTempWrites, readAll, store } from './test-support';
import { blobKey, digestOfBlobKey } from './blob-layout';
import { type BlobStore, DriverBlobStore, openBlobStore } from './blob-store';
import { FileNotFoundError } from './storage-driver';
import { FilesystemDriver } from './filesystem-driver';
import { MemoryDriver } from './memory-driver';
import type { StorageDriver } from './storage-driver';

const drivers: Array<
  [string, () => Promise<{ driver: StorageDriver; cleanup: () => Promise<void> }>]
> = [
  [
    'filesystem',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'blob-store-'));
      return {
        driver: new FilesystemDriver(root),
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
  ],
  ['inmemory', async () => ({ driver: new MemoryDriver(), cleanup: async () => undefined })],
];

describe.each(drivers)('BlobStore on %s', (_name, makeDriver) => {
  let blobs: DriverBlobStore;
  let cleanup: () => Promise<void>;
  const content = randomBytes(3 * 1024 * 1024 + 17);
  const digest = Digest.of(content);

  beforeEach(async () => {
    const fixture = await makeDriver();
    cleanup = fixture.cleanup;
    blobs = await openBlobStore(fixture.driver);
  });
  afterEach(async () => cleanup());

  it('stores a verified blob and serves it whole and in ranges', async () => {
    const writer = await blobs.create();
    for (let offset = 0; offset < content.length; offset += 100_000)
      writer.write(content.subarray(offset, offset + 100_000));
    expect(await blobs.stat(digest)).toBeUndefined();
    const info = await writer.commit(digest, content.length);
    expect(info).toMatchObject({ digest, size: content.length });
    expect(await blobs.stat(digest)).toMatchObject({ digest, size: content.length });
    const whole = await blobs.open(digest);
    expect(whole.size).toBe(content.length);
    expectSameBytes(await readAll(whole.stream), content);
    const part = await blobs.open(digest, { start: 1000, end: 1999 });
    expect(part).toMatchObject({ size: content.length, range: { start: 1000, end: 1999 } });
    expectSameBytes(await readAll(part.stream), content.subarray(1000, 2000));
  });

  it('suspends an upload between pieces, holding nothing, and commits it once resumed', async () => {
    const first = await blobs.create();
    await pipeline(Readable.from([content.subarray(0, 1_000_000)]), first, { end: false });
    const suspended = await first.suspend();
    expect(suspended).toMatchObject({ key: first.uploadKey, size: 1_000_000 });
    expect(suspended.hasher?.size).toBe(1_000_000);
    await expect(first.commit(digest)).rejects.toThrow(/already committed, cancelled or suspended/);
    const second = await blobs.resume(suspended);
    expect(second.size).toBe(1_000_000);
    await pipeline(Readable.from([content.subarray(1_000_000, 2_000_000)]), second, { end: false });
    // Without the running digest (another process, a restart) the bytes are hashed again.
    const { key, size } = await second.suspend();
    const third = await blobs.resume({ key, size });
    await pipeline(Readable.from([content.subarray(2_000_000)]), third, { end: false });
    await third.commit(digest, content.length);
    expectSameBytes(await readAll((await blobs.open(digest)).stream), content);
    await expect(blobs.resume({ key, size })).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it('drops bytes after the kept size when resuming, and discards a suspended upload', async () => {
    const writer = await blobs.create();
    await pipeline(Readable.from([content.subarray(0, 5000)]), writer, { end: false });
    const { key } = await writer.suspend();
    // As if a request died after writing 5000 bytes but before the session recorded them.
    const resumed = await blobs.resume({ key, size: 3000 });
    await pipeline(Readable.from([content.subarray(3000, 6000)]), resumed, { end: false });
    await resumed.commit(Digest.of(content.subarray(0, 6000)), 6000);
    const other = await blobs.create();
    await pipeline(Readable.from([content.subarray(0, 10)]), other, { end: false });
    const dropped = await other.suspend();
    await blobs.discard(dropped);
    await blobs.discard(dropped);
    await expect(blobs.resume(dropped)).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it('refuses a digest mismatch and keeps nothing', async () => {
    const writer = await blobs.create();
    writer.end(content);
    const wrong = Digest.of('something else');
    await expect(writer.commit(wrong)).rejects.toMatchObject({
      code: 'DIGEST_INVALID',
      status: 400,
    });
    expect(await blobs.stat(wrong)).toBeUndefined();
    expect(await blobs.stat(digest)).toBeUndefined();
    expect(await listAll(blobs)).toEqual([]);
  });

  it('refuses a size mismatch and keeps nothing', async () => {
    const writer = await blobs.create();
    writer.end(content);
    await expect(writer.commit(digest, content.length - 1)).rejects.toMatchObject({
      code: 'SIZE_INVALID',
    });
    expect(await blobs.stat(digest)).toBeUndefined();
  });

  it('cancels a write without leaving anything visible', async () => {
    const writer = await blobs.create();
    writer.write(content.subarray(0, 1000));
    await writer.cancel();
    await writer.cancel();
    expect(await listAll(blobs)).toEqual([]);
    await expect(writer.commit(digest)).rejects.toThrow(
      /already committed, cancelled or suspended/,
    );
  });

  it('commits the same digest concurrently, safely', async () => {
    const writers = await Promise.all([blobs.create(), blobs.create(), blobs.create()]);
    for (const writer of writers) writer.end(content);
    const results = await Promise.all(
      writers.map((writer) => writer.commit(digest, content.length)),
    );
    expect(results.map((result) => result.size)).toEqual([
      content.length,
      content.length,
      content.length,
    ]);
    expect(await listAll(blobs)).toEqual([digest.toString()]);
    expectSameBytes(await readAll((await blobs.open(digest)).stream), content);
  });

  it('verifies a sha512 digest although the writer hashed sha256', async () => {
    const writer = await blobs.create();
    writer.end(content);
    const sha512 = Digest.of(content, 'sha512');
    await writer.commit(sha512, content.length);
    expect(await blobs.stat(sha512)).toMatchObject({ size: content.length });
  });

  it('stores sha512 blobs hashed as sha512', async () => {
    const writer = await blobs.create({ algorithm: 'sha512' });
    writer.end(Buffer.from('abc'));
    await writer.commit(Digest.of('abc', 'sha512'));
    await expect(
      blobs.create().then((w) => {
        w.end(Buffer.from('abc'));
        return w.commit(Digest.of('abd', 'sha512'));
      }),
    ).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });

  it('answers BLOB_UNKNOWN and RANGE_INVALID', async () => {
    await expect(blobs.open(digest)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN', status: 404 });
    await store(blobs, content);
    await expect(
      blobs.open(digest, { start: content.length, end: content.length + 5 }),
    ).rejects.toMatchObject({
      code: 'RANGE_INVALID',
      status: 416,
      headers: { 'Content-Range': `bytes */${content.length}` },
    });
  });

  it('records pulls and lists blobs with their last pull', async () => {
    await store(blobs, content);
    const other = await store(blobs, Buffer.from('other'));
    const at = new Date('2026-03-04T05:06:07Z');
    expect(await blobs.touch(digest, at)).toBe(true);
    expect(await blobs.touch(Digest.of('missing'))).toBe(false);
    const listed = new Map<string, number>();
    for await (const blob of blobs.list())
      listed.set(blob.digest.toString(), blob.lastAccessedAt.getTime());
    expect(listed.get(digest.toString())).toBe(at.getTime());
    expect(listed.has(other.toString())).toBe(true);
  });

  it('deletes blobs; a stream already open finishes', async () => {
    await store(blobs, content);
    const open = await blobs.open(digest);
    expect(await blobs.delete(digest)).toBe(true);
    expect(await blobs.delete(digest)).toBe(false);
    expect(await blobs.stat(digest)).toBeUndefined();
    expectSameBytes(await readAll(open.stream), content);
  });

  it('verifies as soon as the last byte is accepted, before the writes reach storage', async () => {
    const gated = await makeDriver();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const driver = interceptTempWrites(gated.driver, async (_chunks, write) => {
      await gate;
      await write();
    });
    try {
      const gatedBlobs = new DriverBlobStore(driver);
      const writer = await gatedBlobs.createTailable();
      for (let offset = 0; offset < content.length; offset += 100_000)
        writer.write(content.subarray(offset, offset + 100_000));
      let verified = false;
      const committed = writer.commit(digest, content.length, {
        onVerified: () => (verified = true),
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(verified).toBe(true);
      expect(writer.written).toBe(0);
      expect(await gatedBlobs.stat(digest)).toBeUndefined();
      release();
      await committed;
      expectSameBytes(await readAll((await gatedBlobs.open(digest)).stream), content);
    } finally {
      release();
      await gated.cleanup();
    }
  });

  it('refuses a mismatch found before the writes reached storage, and keeps nothing', async () => {
    const writer = await blobs.create();
    writer.write(content.subarray(0, 1000));
    writer.write(content.subarray(1000, 2000));
    await expect(writer.commit(digest)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect(await listAll(blobs)).toEqual([]);
  });

  it('fails the commit when the writer failed, keeping nothing', async () => {
    const writer = await blobs.create();
    writer.write(content.subarray(0, 10));
    writer.destroy(new Error('client went away'));
    await expect(writer.commit(digest)).rejects.toThrow('client went away');
    expect(await listAll(blobs)).toEqual([]);
  });
});

async function listAll(blobs: BlobStore): Promise<string[]> {
  const digests: string[] = [];
  for await (const blob of blobs.list()) digests.push(blob.digest.toString());
  return digests.sort();
}

describe('BlobStore on the filesystem', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'blob-store-fs-'));
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('lays blobs out as drawn in blob-layout.ts, mtime recording the last pull', async () => {
    const blobs = await openBlobStore(new FilesystemDriver(root));
    const digest = await store(blobs, Buffer.from('layout'));
    const path = join(root, 'blobs', 'sha256', digest.hex.slice(0, 2), digest.hex);
    expect((await stat(path)).size).toBe(6);
    const at = new Date('2025-05-05T05:05:05Z');
    await blobs.touch(digest, at);
    expect((await stat(path)).mtime.getTime()).toBe(at.getTime());
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('recovers from a crash mid-write: no partial blob, stale temp files removed at start-up', async () => {
    const driver = new FilesystemDriver(root);
    const before = await openBlobStore(driver);
    const writer = await before.create();
    await new Promise<void>((resolve) => writer.write(randomBytes(100_000), () => resolve()));
    await mkdir(join(root, 'tmp'), { recursive: true });
    await writeFile(join(root, 'tmp', 'left-by-crash.part'), 'partial');
    expect((await readdir(join(root, 'tmp'))).length).toBe(2);

    let removed = -1;
    const after = await openBlobStore(new FilesystemDriver(root), {
      onTempFilesRemoved: (count) => (removed = count),
    });
    expect(removed).toBe(2);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await listAll(after)).toEqual([]);
    await writer.cancel();
  });

  it('keeps the temp files of suspended uploads it is told to keep across a restart', async () => {
    const before = await openBlobStore(new FilesystemDriver(root));
    const kept = await before.create();
    await pipeline(Readable.from([Buffer.from('first piece ')]), kept, { end: false });
    const suspended = await kept.suspend();
    const abandoned = await before.create();
    await pipeline(Readable.from([Buffer.from('abandoned')]), abandoned, { end: false });
    await abandoned.suspend();

    let removed = -1;
    const afterDriver = new FilesystemDriver(root);
    const after = await openBlobStore(afterDriver, {
      keepTemp: (file) => file.key === suspended.key,
      onTempFilesRemoved: (count) => (removed = count),
    });
    expect(removed).toBe(1);
    const resumed = await after.resume({ key: suspended.key, size: suspended.size });
    await pipeline(Readable.from([Buffer.from('and the rest')]), resumed, { end: false });
    const whole = Buffer.from('first piece and the rest');
    await resumed.commit(Digest.of(whole), whole.length);
    expectSameBytes(await readAll((await after.open(Digest.of(whole))).stream), whole);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('ignores stray files that are not blobs', async () => {
    await mkdir(join(root, 'blobs', 'sha256', 'ab'), { recursive: true });
    await writeFile(join(root, 'blobs', 'sha256', 'ab', 'not-a-digest'), 'x');
    await writeFile(join(root, 'blobs', 'sha256', 'ab', 'cd'.repeat(32)), 'x');
    const blobs = await openBlobStore(new FilesystemDriver(root));
    expect(await listAll(blobs)).toEqual([]);
  });

  it('keeps nothing when the disk fills up mid-write', async () => {
    let written = 0;
    const blobs = new DriverBlobStore(
      interceptTempWrites(new FilesystemDriver(root), async (chunks, write) => {
        written += chunks.reduce((sum, chunk) => sum + chunk.length, 0);
        if (written > 50_000)
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        await write();
      }),
    );
    const content = randomBytes(200_000);
    const writer = await blobs.create();
    await expect(
      pipeline(Readable.from([content.subarray(0, 40_000), content.subarray(40_000)]), writer),
    ).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(writer.commit(Digest.of(content))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await listAll(blobs)).toEqual([]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('says the digest of the bytes it accepted, those of a failed write included', async () => {
    const blobs = new DriverBlobStore(
      interceptTempWrites(new FilesystemDriver(root), async (chunks, write) => {
        if (chunks.some((chunk) => chunk.length === 30_000))
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        await write();
      }),
    );
    const content = randomBytes(100_000);
    const writer = await blobs.createTailable();
    const write = (chunk: Buffer) =>
      new Promise<Error | null | undefined>((resolve) => writer.write(chunk, resolve));
    expect(await write(content.subarray(0, 10_000))).toBeFalsy();
    const accepted = writer.hashedPrefix();
    expect(accepted.size).toBe(10_000);
    expect(accepted.digest.equals(Digest.of(content.subarray(0, 10_000)))).toBe(true);
    expect(await write(content.subarray(10_000, 40_000))).toMatchObject({ code: 'ENOSPC' });
    // Refused after the failure, so not hashed.
    expect(await write(content.subarray(40_000))).toBeTruthy();
    const prefix = writer.hashedPrefix();
    expect(prefix.size).toBe(40_000);
    expect(prefix.digest.equals(Digest.of(content.subarray(0, 40_000)))).toBe(true);
    await writer.cancel();
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });
});

describe('blob keys', () => {
  it('derive from digests and back', () => {
    const digest = Digest.of('x');
    expect(blobKey(digest)).toBe(`blobs/sha256/${digest.hex.slice(0, 2)}/${digest.hex}`);
    expect(digestOfBlobKey(blobKey(digest))?.equals(digest)).toBe(true);
  });

  it.each([
    'blobs/sha256/zz/abc',
    `blobs/sha256/00/${'a'.repeat(64)}`,
    `blobs/md5/aa/${'a'.repeat(32)}`,
    'tmp/x.part',
    `blobs/sha256/aa/${'a'.repeat(63)}`,
  ])('reject %s', (key) => expect(digestOfBlobKey(key)).toBeUndefined());
});

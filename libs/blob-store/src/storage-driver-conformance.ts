import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectSameBytes, readAll } from './test-support';
import { FileNotFoundError, type StorageDriver, type TempFile } from './storage-driver';

/** A driver under test and how to dispose of it. */
export interface DriverFixture {
  driver: StorageDriver;
  cleanup(): Promise<void>;
}

async function publish(driver: StorageDriver, key: string, content: Buffer): Promise<void> {
  const temp = await driver.createTemp();
  await temp.write([content.subarray(0, 3), content.subarray(3)]);
  await temp.sync();
  await driver.move(temp, key);
}

/**
 * The one conformance suite every {@link StorageDriver} must pass. Call it from a driver's spec
 * with a factory that makes a fresh, empty driver.
 */
export function describeStorageDriverConformance(
  name: string,
  create: () => Promise<DriverFixture>,
): void {
  describe(`${name} storage driver conformance`, () => {
    let fixture: DriverFixture;
    let driver: StorageDriver;
    const content = randomBytes(200_000);

    beforeEach(async () => {
      fixture = await create();
      driver = fixture.driver;
    });
    afterEach(async () => fixture.cleanup());

    it('reports a missing file', async () => {
      expect(await driver.stat('blobs/x')).toBeUndefined();
      await expect(driver.read('blobs/x')).rejects.toBeInstanceOf(FileNotFoundError);
      expect(await driver.delete('blobs/x')).toBe(false);
      expect(await driver.touch('blobs/x', new Date())).toBe(false);
    });

    it('publishes a temp file atomically under its key', async () => {
      const temp = await driver.createTemp();
      await temp.write([content]);
      await temp.sync();
      expect(await driver.stat('a/b/c')).toBeUndefined();
      await driver.move(temp, 'a/b/c');
      expect(await driver.stat('a/b/c')).toMatchObject({ key: 'a/b/c', size: content.length });
      expectSameBytes(await readAll(await driver.read('a/b/c')), content);
    });

    it('keeps temp files invisible until moved', async () => {
      const temp = await driver.createTemp();
      await temp.write([content]);
      const listed = [];
      for await (const file of driver.list('')) listed.push(file);
      expect(listed).toEqual([]);
      await temp.discard();
    });

    it('reads ranges', async () => {
      await publish(driver, 'f', content);
      expectSameBytes(
        await readAll(await driver.read('f', { offset: 10, length: 5 })),
        content.subarray(10, 15),
      );
      expectSameBytes(
        await readAll(await driver.read('f', { offset: 199_990 })),
        content.subarray(199_990),
      );
      expectSameBytes(
        await readAll(await driver.read('f', { offset: 5, length: 0 })),
        Buffer.alloc(0),
      );
    });

    it('stores empty files', async () => {
      await publish(driver, 'empty', Buffer.alloc(0));
      expect(await driver.stat('empty')).toMatchObject({ size: 0 });
      expectSameBytes(await readAll(await driver.read('empty')), Buffer.alloc(0));
    });

    it('replaces an existing file on move', async () => {
      await publish(driver, 'f', Buffer.from('old'));
      await publish(driver, 'f', Buffer.from('new content'));
      expect((await readAll(await driver.read('f'))).toString()).toBe('new content');
    });

    it('refuses to move a discarded temp file', async () => {
      const temp = await driver.createTemp();
      await temp.write([Buffer.from('x')]);
      await temp.discard();
      await temp.discard();
      await expect(driver.move(temp, 'f')).rejects.toBeInstanceOf(FileNotFoundError);
      expect(await driver.stat('f')).toBeUndefined();
    });

    it('reads a temp file back after sync', async () => {
      const temp = await driver.createTemp();
      await temp.write([content]);
      await temp.sync();
      expectSameBytes(await readAll(await temp.read()), content);
      await temp.discard();
    });

    it('reads a temp file while it is written, and after it was moved in place', async () => {
      const temp = await driver.createTemp();
      await temp.write([content.subarray(0, 1000)]);
      expectSameBytes(await temp.readAt(100, 50), content.subarray(100, 150));
      expectSameBytes(await temp.readAt(990, 50), content.subarray(990, 1000));
      await temp.write([content.subarray(1000)]);
      expectSameBytes(await temp.readAt(1000, 5000), content.subarray(1000, 6000));
      await temp.sync();
      await driver.move(temp, 'moved');
      expectSameBytes(await temp.readAt(199_000, 1000), content.subarray(199_000));
      await temp.closeReader();
      await temp.closeReader();
    });

    it('reads a moved temp file back even when the first read comes after the move', async () => {
      // A fill whose clients took every byte from memory reads the file for the first time only
      // after it was published.
      const temp = await driver.createTemp();
      await temp.write([content]);
      await temp.sync();
      await driver.move(temp, 'moved-unread');
      expectSameBytes(await temp.readAt(150_000, 1000), content.subarray(150_000, 151_000));
      await temp.closeReader();
    });

    it("lets another writer's temp file be read as it is written, and once it was moved", async () => {
      const temp = await driver.createTemp();
      await temp.write([content.subarray(0, 1000)]);
      const tailed = await driver.openTailed(temp.key, 'tailed');
      expectSameBytes(await tailed.readAt(100, 50), content.subarray(100, 150));
      expectSameBytes(await tailed.readAt(990, 50), content.subarray(990, 1000));
      await temp.write([content.subarray(1000)]);
      expectSameBytes(await tailed.readAt(1000, 5000), content.subarray(1000, 6000));
      await temp.sync();
      await driver.move(temp, 'tailed');
      expectSameBytes(await tailed.readAt(199_000, 1000), content.subarray(199_000));
      await tailed.close();
      await tailed.close();
      // Opened only after the move: the published file.
      const late = await driver.openTailed(temp.key, 'tailed');
      expectSameBytes(await late.readAt(0, 1000), content.subarray(0, 1000));
      await late.close();
      await expect(driver.openTailed(temp.key, 'never-published')).rejects.toBeInstanceOf(
        FileNotFoundError,
      );
    });

    it('keeps serving a stream opened before delete', async () => {
      await publish(driver, 'f', content);
      const stream = await driver.read('f');
      expect(await driver.delete('f')).toBe(true);
      expect(await driver.stat('f')).toBeUndefined();
      expectSameBytes(await readAll(stream), content);
    });

    it('records access times', async () => {
      await publish(driver, 'f', content);
      const at = new Date('2026-01-02T03:04:05Z');
      expect(await driver.touch('f', at)).toBe(true);
      expect((await driver.stat('f'))?.lastAccessedAt.getTime()).toBe(at.getTime());
    });

    it('sets a file aside out of sight, then restores it (over a newer copy) or discards it', async () => {
      if (!driver.setAside) return;
      const at = new Date('2026-01-02T03:04:05Z');
      await publish(driver, 'blobs/f', content);
      await driver.touch('blobs/f', at);
      expect(await driver.setAside('blobs/missing')).toBeUndefined();
      const aside = await driver.setAside('blobs/f');
      expect(aside?.info).toMatchObject({ size: content.length, lastAccessedAt: at });
      expect(await driver.stat('blobs/f')).toBeUndefined();
      await publish(driver, 'blobs/f', content);
      await aside?.restore();
      expectSameBytes(await readAll(await driver.read('blobs/f')), content);
      await (await driver.setAside('blobs/f'))?.discard();
      expect(await driver.stat('blobs/f')).toBeUndefined();
      const listed = [];
      for await (const file of driver.list('')) listed.push(file);
      expect(listed).toEqual([]);
    });

    it('lists files under a prefix, never temp files', async () => {
      await publish(driver, 'blobs/sha256/aa/one', Buffer.from('1'));
      await publish(driver, 'blobs/sha256/bb/two', Buffer.from('22'));
      await publish(driver, 'other/three', Buffer.from('333'));
      const pending: TempFile = await driver.createTemp();
      await pending.write([Buffer.from('pending')]);
      const listed: Array<[string, number]> = [];
      for await (const file of driver.list('blobs/')) listed.push([file.key, file.size]);
      expect(listed.sort()).toEqual([
        ['blobs/sha256/aa/one', 1],
        ['blobs/sha256/bb/two', 2],
      ]);
      const all: string[] = [];
      for await (const file of driver.list('')) all.push(file.key);
      expect(all.sort()).toEqual(['blobs/sha256/aa/one', 'blobs/sha256/bb/two', 'other/three']);
      await pending.discard();
    });

    it('removes temp files left behind', async () => {
      const first = await driver.createTemp();
      await first.write([Buffer.from('partial')]);
      const second = await driver.createTemp();
      await second.write([Buffer.from('partial')]);
      await second.sync();
      expect(await driver.removeTempFiles()).toBe(2);
      expect(await driver.removeTempFiles()).toBe(0);
      await expect(driver.move(second, 'f')).rejects.toBeInstanceOf(FileNotFoundError);
      // (The crash that left them behind would have closed their files; here they are open.)
      await first.discard();
    });

    it('keeps a closed temp file for reopening, cut to the size it is reopened with', async () => {
      const temp = await driver.createTemp();
      await temp.write([content.subarray(0, 1000)]);
      await temp.write([content.subarray(1000, 1500)]);
      await temp.close();
      await temp.close();
      await expect(driver.reopenTemp(temp.key, 1501)).rejects.toBeInstanceOf(FileNotFoundError);
      const reopened = await driver.reopenTemp(temp.key, 1200);
      await reopened.write([content.subarray(1200, 3000)]);
      await reopened.sync();
      await driver.move(reopened, 'resumed');
      expectSameBytes(await readAll(await driver.read('resumed')), content.subarray(0, 3000));
      await expect(driver.reopenTemp(temp.key, 0)).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(driver.reopenTemp('tmp/never-there.part', 0)).rejects.toBeInstanceOf(
        FileNotFoundError,
      );
    });

    it('removes only the temp files not kept', async () => {
      const kept = await driver.createTemp();
      await kept.write([Buffer.from('kept bytes')]);
      await kept.close();
      const dropped = await driver.createTemp();
      await dropped.write([Buffer.from('dropped')]);
      await dropped.close();
      const seen: Array<{ key: string; size: number }> = [];
      const removed = await driver.removeTempFiles((file) => {
        seen.push({ key: file.key, size: file.size });
        expect(file.modifiedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
        return file.key === kept.key;
      });
      expect(removed).toBe(1);
      expect(seen).toEqual(
        expect.arrayContaining([
          { key: kept.key, size: 10 },
          { key: dropped.key, size: 7 },
        ]),
      );
      await expect(driver.reopenTemp(dropped.key, 0)).rejects.toBeInstanceOf(FileNotFoundError);
      const again = await driver.reopenTemp(kept.key, 10);
      await again.discard();
    });

    it('leaves nothing in the temporary area for a discarded or moved temp file', async () => {
      const discarded = await driver.createTemp();
      await discarded.write([Buffer.from('partial')]);
      await discarded.discard();
      const moved = await driver.createTemp();
      await moved.sync();
      await driver.move(moved, 'kept');
      expect(await driver.removeTempFiles()).toBe(0);
    });

    it.each(['', '/abs', '../escape', 'a/../../b', 'a//b', 'a/./b', 'a\\b', 'a/b/', 'nul\0'])(
      'refuses the key %j',
      async (key) => {
        await expect(driver.stat(key)).rejects.toThrow(/invalid storage key/);
        await expect(driver.read(key)).rejects.toThrow(/invalid storage key/);
        await expect(driver.delete(key)).rejects.toThrow(/invalid storage key/);
        const temp = await driver.createTemp();
        await temp.sync();
        await expect(driver.move(temp, key)).rejects.toThrow(/invalid storage key/);
        await temp.discard();
      },
    );
  });
}

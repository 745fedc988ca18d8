import { randomBytes } from 'node:crypto';
import { readSync } from 'node:fs';
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilesystemDriver } from './filesystem-driver';
import { describeStorageDriverConformance } from './storage-driver-conformance';
import { fileRegionOf } from './storage-driver';

describeStorageDriverConformance('filesystem (no open-file cache)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'blob-store-'));
  return {
    driver: new FilesystemDriver(root, { openFiles: { capacity: 0, validMs: 0 } }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describeStorageDriverConformance('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'blob-store-'));
  const driver = new FilesystemDriver(root);
  return {
    driver,
    cleanup: async () => {
      await driver.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

/** Runs `test` with a driver on a new temp root, then closes it and removes the root. */
async function withDriver(
  test: (driver: FilesystemDriver, root: string) => Promise<void>,
): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'blob-store-'));
  const driver = new FilesystemDriver(root);
  try {
    await test(driver, root);
  } finally {
    await driver.close();
    await rm(root, { recursive: true, force: true });
  }
}

describe('FilesystemDriver free space', () => {
  it('says what statfs says an unprivileged writer may use', () =>
    withDriver(async (driver, root) => {
      const space = await statfs(root);
      const free = await driver.freeBytes();
      expect(free).toBeGreaterThan(0);
      // Other processes write too: within 64 MiB of the reading taken just before.
      expect(Math.abs((free as number) - space.bavail * space.bsize)).toBeLessThan(
        64 * 1024 * 1024,
      );
    }));

  it('says it of the file system the root will be on, before the first write creates it', () =>
    withDriver(async (_driver, root) => {
      const space = await statfs(root);
      const free = await new FilesystemDriver(join(root, 'not', 'yet')).freeBytes();
      expect(Math.abs((free as number) - space.bavail * space.bsize)).toBeLessThan(
        64 * 1024 * 1024,
      );
      await writeFile(join(root, 'a-file'), 'x');
      await expect(
        new FilesystemDriver(join(root, 'a-file', 'below')).freeBytes(),
      ).resolves.toBeUndefined();
    }));
});

describe('FilesystemDriver temp files', () => {
  it('reads back into the memory of chunks handed back, and of those only', () =>
    withDriver(async (driver) => {
      const content = randomBytes(3 * 1024 * 1024);
      const temp = await driver.createTemp();
      await temp.write([content]);
      const chunkSize = 1024 * 1024;
      const first = await temp.readAt(0, chunkSize);
      expect(first.equals(content.subarray(0, chunkSize))).toBe(true);
      temp.recycle?.(first);
      const second = await temp.readAt(chunkSize, chunkSize);
      expect(second.buffer).toBe(first.buffer);
      expect(second.equals(content.subarray(chunkSize, 2 * chunkSize))).toBe(true);
      const third = await temp.readAt(2 * chunkSize, chunkSize);
      expect(third.buffer).not.toBe(second.buffer);
      expect(third.equals(content.subarray(2 * chunkSize))).toBe(true);
      await temp.discard();
    }));
});

describe('FilesystemDriver reads', () => {
  it('offer the region of the open file they read, whose descriptor reads the same bytes', () =>
    withDriver(async (driver) => {
      const content = randomBytes(300_000);
      const temp = await driver.createTemp();
      await temp.write([content]);
      await driver.move(temp, 'blobs/region');
      const stream = await driver.read('blobs/region', { offset: 1000, length: 5000 });
      const region = fileRegionOf(stream);
      expect(region).toMatchObject({ offset: 1000, length: 5000 });
      const bytes = Buffer.alloc(5000);
      expect(readSync(region?.fd as number, bytes, 0, 5000, region?.offset ?? null)).toBe(5000);
      expect(bytes.equals(content.subarray(1000, 6000))).toBe(true);
      stream.destroy();
    }));
});

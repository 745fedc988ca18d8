import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from './filesystem-driver';
import { describeStorageDriverConformance } from './storage-driver-conformance';

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

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from './filesystem-driver';
import { describeStorageDriverConformance } from './storage-driver-conformance';

describeStorageDriverConformance('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'blob-store-'));
  return {
    driver: new FilesystemDriver(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

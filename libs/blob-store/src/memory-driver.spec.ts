import { MemoryDriver } from './memory-driver';
import { describeStorageDriverConformance } from './storage-driver-conformance';

describeStorageDriverConformance('inmemory', async () => ({
  driver: new MemoryDriver(),
  cleanup: async () => undefined,
}));

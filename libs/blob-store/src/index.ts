export { assertValidKey, FileNotFoundError, readSizerOf } from './storage-driver';
export type {
  FileBackedReadable,
  FileInfo,
  FileRegion,
  RecyclingReadable,
  SetAsideFile,
  StorageDriver,
  TailedFile,
  TempFile,
  TempFileInfo,
} from './storage-driver';
export { FilesystemDriver } from './filesystem-driver';
export { MemoryDriver } from './memory-driver';
export { BLOBS_PREFIX, blobKey, digestOfBlobKey } from './blob-layout';
export { DriverBlobStore, openBlobStore } from './blob-store';
export type {
  BlobInfo,
  BlobStore,
  BlobStoreOptions,
  BlobWriter,
  OpenBlob,
  ResumableBlobStore,
  ResumableBlobWriter,
  SuspendedUpload,
  TailableBlobStore,
  TailableBlobWriter,
} from './blob-store';
export { MemoryTier } from './memory-tier';
export type { MemoryTierOptions } from './memory-tier';

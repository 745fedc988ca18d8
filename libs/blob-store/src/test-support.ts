import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Digest } from '@dtr-cache/registry-protocol';
import { expect } from 'vitest';
import type { BlobStore } from './blob-store';
import type { StorageDriver } from './storage-driver';

/** Stores `content` as a blob through a writer; returns its digest. */
export async function store(blobs: BlobStore, content: Buffer): Promise<Digest> {
  const writer = await blobs.create();
  await pipeline(Readable.from([content]), writer);
  const digest = Digest.of(content);
  await writer.commit(digest, content.length);
  return digest;
}

/**
 * Routes every write to `driver`'s temp files through `onWrite` (which calls `write` to let it
 * happen), for tests of a slow or full disk. Changes and returns `driver`.
 */
export function interceptTempWrites<Driver extends StorageDriver>(
  driver: Driver,
  onWrite: (chunks: readonly Buffer[], write: () => Promise<void>) => Promise<void>,
): Driver {
  const createTemp = driver.createTemp.bind(driver);
  return Object.assign(driver, {
    createTemp: async () => {
      const temp = await createTemp();
      const write = temp.write.bind(temp);
      return Object.assign(temp, {
        write: (chunks: readonly Buffer[]) => onWrite(chunks, () => write(chunks)),
      });
    },
  });
}

/** Collects a stream (test content is small enough to hold). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Asserts two byte strings are equal. Deep equality on megabyte Buffers is very slow in the test
 * runner, so this compares with Buffer.equals and reports lengths and the first differing offset.
 */
export function expectSameBytes(actual: Buffer, expected: Buffer): void {
  if (actual.equals(expected)) return;
  let offset = 0;
  while (offset < Math.min(actual.length, expected.length) && actual[offset] === expected[offset])
    offset += 1;
  expect.fail(
    `bytes differ: got ${actual.length} bytes, expected ${expected.length}; first difference at offset ${offset}`,
  );
}

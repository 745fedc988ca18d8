import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Digest } from '@dtr-cache/registry-protocol';
import { expect } from 'vitest';
import type { BlobStore } from './blob-store';

/** Stores `content` as a blob through a writer; returns its digest. */
export async function store(blobs: BlobStore, content: Buffer): Promise<Digest> {
  const writer = await blobs.create();
  await pipeline(Readable.from([content]), writer);
  const digest = Digest.of(content);
  await writer.commit(digest, content.length);
  return digest;
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

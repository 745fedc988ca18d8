import type { Readable } from 'node:stream';
import { expect } from 'vitest';

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

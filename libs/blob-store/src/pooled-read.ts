import type { FileHandle } from 'node:fs/promises';
import type { BufferPool } from './buffer-pool';

/**
 * Reads up to `length` bytes at `offset` of an open file into a buffer lent by `buffers` (hand it
 * back with `buffers.give` once nothing references it). Beyond the pool's budget of lent memory
 * the buffer may be shorter, and fewer bytes are read; fewer too at the end of the file.
 * @throws the read's error (the buffer is given back first).
 */
export async function readPooled(
  handle: FileHandle,
  buffers: BufferPool,
  offset: number,
  length: number,
): Promise<Buffer> {
  const buffer = buffers.bufferFor(length);
  try {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(length, buffer.length), offset);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    buffers.give(buffer);
    throw error;
  }
}

import type { IncomingMessage } from 'node:http';
import { RegistryError } from '@dtr-cache/registry-protocol';

/**
 * Reads a small request body (a manifest, a JSON document) into memory, refusing more than
 * `limit` bytes with `TOO_LARGE` as soon as the limit is passed.
 */
export async function readSmallBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > limit) throw new RegistryError('TOO_LARGE', `body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      request.resume();
      throw new RegistryError('TOO_LARGE', `body larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a JSON object body of at most 64 KiB.
 * @throws RegistryError `INVALID_REQUEST` for anything but a JSON object.
 */
export async function readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readSmallBody(request, 64 * 1024);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError('INVALID_REQUEST', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RegistryError('INVALID_REQUEST', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

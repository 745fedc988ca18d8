import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
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

/** Media types a JSON endpoint accepts: `application/json` and any `application/<x>+json`. */
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;

/**
 * Checks that a request declares a JSON body: `application/json` or `application/*+json`, with
 * parameters such as `charset`. Anything else — `text/plain`, form encodings, nothing at all — is
 * what a plain HTML form or a "simple" cross-site request can send, and is refused.
 * @throws RegistryError `UNSUPPORTED_MEDIA_TYPE` (415).
 */
export function assertJsonContentType(ctx: Context): void {
  const header = ctx.get('Content-Type');
  const mediaType = (header.split(';')[0] ?? '').trim().toLowerCase();
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', 'the body must be sent as application/json', {
      detail: {
        contentType: header === '' ? null : header,
        accepted: ['application/json', 'application/*+json'],
      },
    });
  }
}

/**
 * Reads a JSON object body of at most 64 KiB, sent as `application/json` (see
 * {@link assertJsonContentType}).
 * @throws RegistryError `UNSUPPORTED_MEDIA_TYPE` for another Content-Type, `TOO_LARGE`, or
 *   `INVALID_REQUEST` for anything but a JSON object.
 */
export async function readJsonObject(ctx: Context): Promise<Record<string, unknown>> {
  assertJsonContentType(ctx);
  const body = await readSmallBody(ctx.req, 64 * 1024);
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

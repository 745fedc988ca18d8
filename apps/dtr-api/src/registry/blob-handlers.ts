import type { Context } from 'koa';
import {
  type Digest,
  etagOf,
  formatContentRange,
  Headers,
  parseRangeHeader,
  RegistryError,
  rangeLength,
  rangeNotSatisfiable,
} from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import { authorizeRepository } from './registry-access';

/**
 * `GET`/`HEAD /v2/<name>/blobs/<digest>`: only a blob linked to the repository (pushed, mounted
 * or referenced there) is served; knowing a digest from elsewhere gives nothing. Single ranges get
 * 206 (or 416); `If-None-Match` with the digest gets 304.
 */
export async function getBlob(
  ctx: Context,
  services: DtrServices,
  name: string,
  digest: Digest,
): Promise<void> {
  const repository = authorizeRepository(ctx, services, name, 'pull');
  const linkedSize = services.repositories.linkedBlobSize(repository, digest.toString());
  const info = linkedSize === undefined ? undefined : await services.blobs.stat(digest);
  if (!info)
    throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: digest.toString() } });

  ctx.set(Headers.contentDigest, digest.toString());
  ctx.set(Headers.etag, etagOf(digest));
  ctx.set(Headers.acceptRanges, 'bytes');
  ctx.set('Cache-Control', 'max-age=31536000');
  ctx.type = 'application/octet-stream';
  if (ctx.get(Headers.ifNoneMatch) === etagOf(digest)) {
    ctx.status = 304;
    return;
  }
  const range = parseRangeHeader(ctx.get(Headers.range) || undefined, info.size);
  if (range.kind === 'unsatisfiable') throw rangeNotSatisfiable(info.size);
  const partial = range.kind === 'partial' ? range.range : undefined;
  if (partial) ctx.set(Headers.contentRange, formatContentRange(partial, info.size));
  ctx.status = partial ? 206 : 200;
  ctx.length = partial ? rangeLength(partial) : info.size;
  if (ctx.method === 'HEAD') return;
  const blob = await services.blobs.open(digest, partial);
  ctx.body = blob.stream;
  void services.blobs.touch(digest).catch(() => undefined);
}

/** `DELETE /v2/<name>/blobs/<digest>`: unlinks the blob from the repository (if deletes are enabled). */
export async function deleteBlob(
  ctx: Context,
  services: DtrServices,
  name: string,
  digest: Digest,
): Promise<void> {
  if (!services.options.deleteEnabled)
    throw new RegistryError('UNSUPPORTED', 'deletes are disabled (storage.delete.enabled)');
  const repository = authorizeRepository(ctx, services, name, 'delete');
  if (!services.repositories.unlinkBlob(repository, digest.toString())) {
    throw new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: digest.toString() } });
  }
  ctx.status = 202;
  ctx.length = 0;
}

import type { Context } from 'koa';
import { pipeline } from 'node:stream/promises';
import { Digest, Headers, RegistryError, registryPaths } from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import type { Repository } from '../store/repository-store';
import { answerCreated, authorizeRepository, mayPull } from './registry-access';
import type { UploadSession } from './upload-sessions';

function expectedDigest(ctx: Context): Digest {
  const value = ctx.query['digest'];
  if (typeof value !== 'string') {
    throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required', {
      detail: { digest: value ?? null },
    });
  }
  return Digest.parse(value);
}

function declaredLength(ctx: Context): number | undefined {
  const header = ctx.get(Headers.contentLength);
  if (header === '') return undefined;
  const length = Number(header);
  if (!Number.isSafeInteger(length) || length < 0)
    throw new RegistryError('SIZE_INVALID', 'invalid Content-Length');
  return length;
}

function answerUploadStatus(
  ctx: Context,
  repository: Repository,
  session: UploadSession,
  status: 202 | 204,
): void {
  ctx.status = status;
  ctx.set(Headers.location, registryPaths.blobUpload(repository.fullName, session.id));
  ctx.set(Headers.range, `0-${Math.max(session.writer.size - 1, 0)}`);
  ctx.set(Headers.uploadUuid, session.id);
  ctx.length = 0;
}

/**
 * Streams the request body into an upload session without ending its writer. A `Content-Range`
 * must start where the upload stands (else 416); the bytes received must match the declared length.
 */
async function appendBody(ctx: Context, session: UploadSession): Promise<void> {
  const contentRange = ctx.get(Headers.contentRange);
  const length = declaredLength(ctx);
  const before = session.writer.size;
  if (contentRange !== '') {
    const match = /^(?:bytes )?(\d+)-(\d+)$/.exec(contentRange);
    if (!match || Number(match[1]) !== before || Number(match[2]) < Number(match[1])) {
      throw new RegistryError('RANGE_INVALID', 'the chunk does not start where the upload stands', {
        detail: { contentRange, uploaded: before },
        headers: { Range: `0-${Math.max(before - 1, 0)}` },
      });
    }
    if (length !== undefined && Number(match[2]) - Number(match[1]) + 1 !== length) {
      throw new RegistryError('SIZE_INVALID', 'Content-Range and Content-Length disagree', {
        detail: { contentRange, length },
      });
    }
  }
  await pipeline(ctx.req, session.writer, { end: false });
  const received = session.writer.size - before;
  if (length !== undefined && received !== length) {
    throw new RegistryError('SIZE_INVALID', 'the chunk is shorter than its Content-Length', {
      detail: { length, received },
    });
  }
}

/** Commits an upload session's bytes as `digest`, links the blob, forgets the session. */
async function commitSession(
  ctx: Context,
  services: DtrServices,
  repository: Repository,
  session: UploadSession,
  digest: Digest,
) {
  services.uploads.remove(session);
  const blob = await session.writer.commit(digest);
  services.repositories.linkBlob(repository, digest.toString(), blob.size);
  answerCreated(ctx, registryPaths.blob(repository.fullName, digest), digest);
}

/**
 * `POST /v2/<name>/blobs/uploads/`: a cross-repository mount (`?mount=&from=`, if the caller may
 * pull the source and the blob is linked there; otherwise an ordinary upload starts), a
 * monolithic upload (`?digest=` with the body), or a new upload session (202).
 */
export async function startUpload(
  ctx: Context,
  services: DtrServices,
  name: string,
): Promise<void> {
  const repository = authorizeRepository(ctx, services, name, 'push');
  const mount = ctx.query['mount'];
  const from = ctx.query['from'];
  if (typeof mount === 'string' && typeof from === 'string') {
    const digest = Digest.tryParse(mount);
    const source =
      digest && mayPull(ctx, services, from) ? services.repositories.find(from) : undefined;
    const size =
      source && digest
        ? services.repositories.linkedBlobSize(source, digest.toString())
        : undefined;
    if (digest && size !== undefined && (await services.blobs.stat(digest))) {
      services.repositories.linkBlob(repository, digest.toString(), size);
      answerCreated(ctx, registryPaths.blob(repository.fullName, digest), digest);
      return;
    }
  }
  const session = services.uploads.start(repository.id, await services.blobs.create());
  if (ctx.query['digest'] === undefined) {
    answerUploadStatus(ctx, repository, session, 202);
    return;
  }
  const digest = expectedDigest(ctx);
  services.uploads.acquire(session.id, repository.id);
  try {
    await appendBody(ctx, session);
    await commitSession(ctx, services, repository, session, digest);
  } catch (error) {
    await services.uploads.cancel(session);
    throw error;
  }
}

/**
 * Checks push access to `name` and takes upload `uploadId` of that repository (release or cancel
 * it when done).
 * @throws RegistryError `BLOB_UPLOAD_UNKNOWN` for an unknown id, `BLOB_UPLOAD_INVALID` while
 *   another request uses it, or the access error.
 */
function acquireUpload(ctx: Context, services: DtrServices, name: string, uploadId: string) {
  const repository = authorizeRepository(ctx, services, name, 'push');
  return { repository, session: services.uploads.acquire(uploadId, repository.id) };
}

/** `GET /v2/<name>/blobs/uploads/<id>`: the upload's progress (204 with `Range`). */
export function uploadStatus(
  ctx: Context,
  services: DtrServices,
  name: string,
  uploadId: string,
): void {
  const { repository, session } = acquireUpload(ctx, services, name, uploadId);
  services.uploads.release(session);
  answerUploadStatus(ctx, repository, session, 204);
}

/** `PATCH /v2/<name>/blobs/uploads/<id>`: appends a chunk (streamed). */
export async function appendChunk(
  ctx: Context,
  services: DtrServices,
  name: string,
  uploadId: string,
): Promise<void> {
  const { repository, session } = acquireUpload(ctx, services, name, uploadId);
  try {
    await appendBody(ctx, session);
  } finally {
    services.uploads.release(session);
  }
  answerUploadStatus(ctx, repository, session, 202);
}

/**
 * `PUT /v2/<name>/blobs/uploads/<id>?digest=`: appends an optional last chunk and commits.
 * A digest or size mismatch ends the upload and keeps nothing.
 */
export async function finishUpload(
  ctx: Context,
  services: DtrServices,
  name: string,
  uploadId: string,
): Promise<void> {
  const { repository, session } = acquireUpload(ctx, services, name, uploadId);
  let digest: Digest;
  try {
    digest = expectedDigest(ctx);
    await appendBody(ctx, session);
  } catch (error) {
    services.uploads.release(session);
    throw error;
  }
  try {
    await commitSession(ctx, services, repository, session, digest);
  } catch (error) {
    await services.uploads.cancel(session);
    throw error;
  }
}

/** `DELETE /v2/<name>/blobs/uploads/<id>`: cancels the upload. */
export async function cancelUpload(
  ctx: Context,
  services: DtrServices,
  name: string,
  uploadId: string,
): Promise<void> {
  const { session } = acquireUpload(ctx, services, name, uploadId);
  await services.uploads.cancel(session);
  ctx.status = 204;
}

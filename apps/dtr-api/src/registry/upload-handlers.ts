import type { Context } from 'koa';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type AccessScope,
  Digest,
  Headers,
  isValidRepositoryName,
  RegistryError,
  registryPaths,
} from '@dtr-cache/registry-protocol';
import type { DtrServices } from '../services';
import type { Repository } from '../store/repository-store';
import type { UploadSessionRecord } from '../store/upload-session-store';
import { answerCreated, authenticationOf, authorizeRepository, mayPull } from './registry-access';
import { quotaExceeded } from './storage-quotas';
import type { ActiveUpload } from './upload-sessions';

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
  session: { id: string; size: number },
  status: 202 | 204,
): void {
  ctx.status = status;
  ctx.set(Headers.location, registryPaths.blobUpload(repository.fullName, session.id));
  ctx.set(Headers.range, `0-${Math.max(session.size - 1, 0)}`);
  ctx.set(Headers.uploadUuid, session.id);
  ctx.length = 0;
}

/** The account pushing (pushes need one: anonymous callers never get push access). */
function pusherId(ctx: Context): number {
  const { principal } = authenticationOf(ctx);
  if (principal.kind !== 'user') throw new RegistryError('DENIED', 'pushing needs an account');
  return principal.account.id;
}

/** Passes bytes through, failing once more than `allowance` went by (a namespace's quota). */
function quotaLimiter(allowance: number, refusal: () => RegistryError): Transform {
  let passed = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      passed += chunk.length;
      callback(passed > allowance ? refusal() : null, chunk);
    },
  });
}

/**
 * Streams the request body through `limiter` into `writer`. Unlike piping the request itself, a
 * refusal by the limiter leaves the connection able to carry the answer: the rest of the body is
 * read and dropped while the error is sent (with `Connection: close`).
 */
async function receiveLimited(ctx: Context, limiter: Transform, writer: NodeJS.WritableStream) {
  const body = new PassThrough();
  const request = ctx.req;
  const cutOff = () => {
    if (!request.complete) body.destroy(new Error('the client went away'));
  };
  request.once('close', cutOff);
  request.pipe(body);
  try {
    await pipeline(body, limiter, writer, { end: false });
  } catch (error) {
    request.unpipe(body);
    request.resume();
    throw error;
  } finally {
    request.off('close', cutOff);
  }
}

/** The most bytes a request may add to an upload, and how going past them is refused. */
interface BodyLimit {
  readonly bytes: number;
  readonly refusal: () => RegistryError;
}

/**
 * What a request may add to an upload: for a monolithic upload of a blob the namespace holds
 * already (`knownSize`), exactly that blob's size (it takes no room; more bytes could not match
 * it); otherwise what the namespace's quota leaves, if it has one.
 */
async function bodyLimit(
  services: DtrServices,
  repository: Repository,
  knownSize: number | undefined,
): Promise<BodyLimit | undefined> {
  if (knownSize !== undefined) {
    return {
      bytes: knownSize,
      refusal: () =>
        new RegistryError('SIZE_INVALID', 'more bytes than the blob of this digest has', {
          detail: { size: knownSize },
          headers: { Connection: 'close' },
        }),
    };
  }
  const namespace = await services.accounts.findById(repository.namespaceId);
  const usage = namespace && (await services.quotas.usage(namespace));
  const allowance = await services.quotas.allowance(repository);
  if (allowance === Number.POSITIVE_INFINITY) return undefined;
  return {
    bytes: allowance,
    refusal: () => {
      return quotaExceeded(
        repository.namespace,
        usage?.limit ?? 0,
        usage?.used ?? 0,
        allowance + 1,
        {
          Connection: 'close',
        },
      );
    },
  };
}

/**
 * Streams the request body into an upload without ending its writer. A `Content-Range` must start
 * where the upload stands (else 416); the bytes received must match the declared length; they must
 * stay within the {@link bodyLimit} (a declared length past it is refused before any byte is read;
 * bytes that pass it mid-way end the whole upload, so nothing past a quota is ever kept).
 */
async function appendBody(
  ctx: Context,
  services: DtrServices,
  repository: Repository,
  upload: ActiveUpload,
  knownSize?: number,
): Promise<void> {
  const contentRange = ctx.get(Headers.contentRange);
  const length = declaredLength(ctx);
  const before = upload.writer.size;
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
  const limit = await bodyLimit(services, repository, knownSize);
  if (!limit) {
    await pipeline(ctx.req, upload.writer, { end: false });
  } else {
    if (length !== undefined && length > limit.bytes) throw limit.refusal();
    let refused: RegistryError | undefined;
    const limiter = quotaLimiter(limit.bytes, () => (refused = limit.refusal()));
    try {
      await receiveLimited(ctx, limiter, upload.writer);
    } catch (error) {
      if (refused) {
        await services.uploads.cancel(upload);
        throw refused;
      }
      throw error;
    }
  }
  const received = upload.writer.size - before;
  if (length !== undefined && received !== length) {
    throw new RegistryError('SIZE_INVALID', 'the chunk is shorter than its Content-Length', {
      detail: { length, received },
    });
  }
}

/** Commits an upload's bytes as `digest`, links the blob, ends the session. */
async function commitUpload(
  ctx: Context,
  services: DtrServices,
  repository: Repository,
  upload: ActiveUpload,
  digest: Digest,
) {
  const blob = await services.uploads.commit(upload, digest);
  await services.repositories.linkBlob(repository, digest.toString(), blob.size);
  answerCreated(ctx, registryPaths.blob(repository.fullName, digest), digest);
}

/**
 * A cross-repository mount (`?mount=&from=`): links the blob if the caller may pull the source,
 * the blob is linked there and the target namespace has room. Returns false to fall back to an
 * ordinary upload.
 */
async function mountBlob(ctx: Context, services: DtrServices, repository: Repository) {
  const mount = ctx.query['mount'];
  const from = ctx.query['from'];
  if (typeof mount !== 'string' || typeof from !== 'string') return false;
  const digest = Digest.tryParse(mount);
  const source =
    digest && (await mayPull(ctx, services, from))
      ? await services.repositories.find(from)
      : undefined;
  const size =
    source && digest
      ? await services.repositories.linkedBlobSize(source, digest.toString())
      : undefined;
  if (!source || !digest || size === undefined || !(await services.blobs.stat(digest)))
    return false;
  await services.quotas.assertRoomForBlob(repository, digest.toString(), size);
  // Linked only if the source still links it (a garbage collection may have reclaimed it since).
  if ((await services.repositories.mountBlob(source, repository, digest.toString())) === undefined)
    return false;
  answerCreated(ctx, registryPaths.blob(repository.fullName, digest), digest);
  return true;
}

/**
 * The scope a mount needs beside push on `name`: pull on its `from` repository (a valid name other
 * than `name`), so a client that asks for exactly the challenged scopes gets a token that mounts.
 */
function mountSource(ctx: Context, name: string): AccessScope[] {
  const from = ctx.query['from'];
  if (typeof ctx.query['mount'] !== 'string' || typeof from !== 'string') return [];
  if (from === name || !isValidRepositoryName(from)) return [];
  return [{ type: 'repository', name: from, actions: ['pull'] }];
}

/**
 * `POST /v2/<name>/blobs/uploads/`: a cross-repository mount (see {@link mountBlob}), a
 * monolithic upload (`?digest=` with the body), or a new upload session (202).
 */
export async function startUpload(
  ctx: Context,
  services: DtrServices,
  name: string,
): Promise<void> {
  const repository = await authorizeRepository(ctx, services, name, 'push', mountSource(ctx, name));
  if (await mountBlob(ctx, services, repository)) return;
  const upload = await services.uploads.start(repository.id, pusherId(ctx));
  if (ctx.query['digest'] === undefined) {
    await services.uploads.release(upload);
    answerUploadStatus(ctx, repository, upload.record, 202);
    return;
  }
  try {
    const digest = expectedDigest(ctx);
    const known = (await services.repositories.namespaceHasBlob(
      repository.namespaceId,
      digest.toString(),
    ))
      ? (await services.blobs.stat(digest))?.size
      : undefined;
    await appendBody(ctx, services, repository, upload, known);
    await commitUpload(ctx, services, repository, upload, digest);
  } catch (error) {
    await services.uploads.cancel(upload).catch(() => undefined);
    throw error;
  }
}

/** Checks push access to `name` and returns the repository. */
function pushTarget(ctx: Context, services: DtrServices, name: string): Promise<Repository> {
  return authorizeRepository(ctx, services, name, 'push');
}

/** `GET /v2/<name>/blobs/uploads/<id>`: the upload's progress (204 with `Range`); no file is opened. */
export async function uploadStatus(
  ctx: Context,
  services: DtrServices,
  name: string,
  uploadId: string,
): Promise<void> {
  const repository = await pushTarget(ctx, services, name);
  const record: UploadSessionRecord = await services.uploads.find(uploadId, repository.id);
  answerUploadStatus(ctx, repository, record, 204);
}

/** `PATCH /v2/<name>/blobs/uploads/<id>`: appends a chunk (streamed). */
export async function appendChunk(
  ctx: Context,
  services: DtrServices,
  name: string,
  uploadId: string,
): Promise<void> {
  const repository = await pushTarget(ctx, services, name);
  const upload = await services.uploads.acquire(uploadId, repository.id);
  let size: number;
  try {
    await appendBody(ctx, services, repository, upload);
  } finally {
    size = await services.uploads.release(upload).catch(() => upload.writer.size);
  }
  answerUploadStatus(ctx, repository, { id: uploadId, size }, 202);
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
  const repository = await pushTarget(ctx, services, name);
  const upload = await services.uploads.acquire(uploadId, repository.id);
  let digest: Digest;
  try {
    digest = expectedDigest(ctx);
    await appendBody(ctx, services, repository, upload);
  } catch (error) {
    await services.uploads.release(upload).catch(() => undefined);
    throw error;
  }
  await commitUpload(ctx, services, repository, upload, digest);
}

/** `DELETE /v2/<name>/blobs/uploads/<id>`: cancels the upload. */
export async function cancelUpload(
  ctx: Context,
  services: DtrServices,
  name: string,
  uploadId: string,
): Promise<void> {
  const repository = await pushTarget(ctx, services, name);
  await services.uploads.end(uploadId, repository.id);
  ctx.status = 204;
}

import type { Context } from 'koa';
import {
  Digest,
  etagOf,
  Headers,
  isImageManifestMediaType,
  isIndexMediaType,
  isManifestMediaType,
  type ManifestReference,
  MANIFEST_MEDIA_TYPES,
  RegistryError,
  registryPaths,
} from '@dtr-cache/registry-protocol';
import { readSmallBody } from '../read-body';
import type { DtrServices } from '../services';
import type { Repository, StoredManifest } from '../store/repository-store';
import { type Descriptor, descriptorDigest, invalidManifest } from './manifest-descriptor';
import { referrerFieldsOf } from './manifest-referrer';
import { answerCreated, authorizeRepository } from './registry-access';

/** Largest manifest accepted (as the reference registry). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The media type of an uploaded manifest: its `mediaType` field and the Content-Type must agree. */
function mediaTypeOf(ctx: Context, document: Record<string, unknown>): string {
  const contentType = (ctx.get(Headers.contentType).split(';')[0] ?? '').trim();
  const declared = typeof document['mediaType'] === 'string' ? document['mediaType'] : undefined;
  if (
    declared !== undefined &&
    contentType !== '' &&
    isManifestMediaType(contentType) &&
    declared !== contentType
  ) {
    throw invalidManifest(`mediaType ${declared} does not match Content-Type ${contentType}`);
  }
  const mediaType = declared ?? contentType;
  if (!isManifestMediaType(mediaType)) {
    throw invalidManifest(
      `unsupported manifest media type "${mediaType}" (supported: ${MANIFEST_MEDIA_TYPES.join(', ')})`,
    );
  }
  return mediaType;
}

/**
 * Checks that every blob (image manifest) or child manifest (index) is in the repository; returns
 * the blobs (stored here, not only at `urls`), whose links the manifest's transaction uses.
 */
async function checkReferences(
  services: DtrServices,
  repository: Repository,
  mediaType: string,
  document: Record<string, unknown>,
): Promise<string[]> {
  const used: string[] = [];
  if (document['schemaVersion'] !== 2) throw invalidManifest('schemaVersion must be 2');
  if (isImageManifestMediaType(mediaType)) {
    const layers = document['layers'];
    if (!Array.isArray(layers)) throw invalidManifest('layers must be a list');
    const blobs = [
      { descriptor: document['config'] as Descriptor, where: 'config' },
      ...layers.map((layer: Descriptor, index) => ({
        descriptor: layer,
        where: `layers[${index}]`,
      })),
    ];
    for (const { descriptor, where } of blobs) {
      const digest = descriptorDigest(descriptor, where);
      if (Array.isArray(descriptor.urls) && descriptor.urls.length > 0) continue;
      if (
        (await services.repositories.linkedBlobSize(repository, digest.toString())) === undefined
      ) {
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', undefined, {
          detail: { digest: digest.toString() },
        });
      }
      used.push(digest.toString());
    }
  } else if (isIndexMediaType(mediaType)) {
    const manifests = document['manifests'];
    if (!Array.isArray(manifests)) throw invalidManifest('manifests must be a list');
    for (const [index, child] of (manifests as Descriptor[]).entries()) {
      const digest = descriptorDigest(child, `manifests[${index}]`);
      if (!(await services.repositories.manifest(repository, digest.toString()))) {
        throw new RegistryError(
          'MANIFEST_UNKNOWN',
          'a manifest the index lists is not in the repository',
          {
            detail: { digest: digest.toString() },
          },
        );
      }
    }
  }
  return used;
}

/**
 * `PUT /v2/<name>/manifests/<reference>`: validates the manifest (media type, structure, every
 * referenced blob or child manifest present), checks the namespace's quota has room for it,
 * stores its bytes, then records it and the tag. A manifest with a `subject` is answered with
 * `OCI-Subject` and listed among the referrers of that digest.
 */
export async function putManifest(
  ctx: Context,
  services: DtrServices,
  name: string,
  reference: ManifestReference,
): Promise<void> {
  const repository = await authorizeRepository(ctx, services, name, 'push');
  const body = await readSmallBody(ctx.req, MAX_MANIFEST_BYTES);
  let document: unknown;
  try {
    document = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidManifest('the manifest is not valid JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw invalidManifest('the manifest is not a JSON object');
  const digest = Digest.of(
    body,
    reference.kind === 'digest' ? reference.digest.algorithm : 'sha256',
  );
  if (reference.kind === 'digest' && !reference.digest.equals(digest)) {
    throw new RegistryError('DIGEST_INVALID', undefined, {
      detail: { expected: reference.digest.toString(), actual: digest.toString() },
    });
  }
  const mediaType = mediaTypeOf(ctx, document as Record<string, unknown>);
  const blobs = await checkReferences(
    services,
    repository,
    mediaType,
    document as Record<string, unknown>,
  );
  // The subject need not be in the repository (yet): a signature may come before its image.
  const referrer = referrerFieldsOf(mediaType, document as Record<string, unknown>);
  await services.quotas.assertRoomForBlob(repository, digest.toString(), body.length);
  const writer = await services.blobs.create({ algorithm: digest.algorithm });
  writer.end(body);
  await writer.commit(digest, body.length);
  await services.repositories.putManifest(
    repository,
    { digest: digest.toString(), mediaType, size: body.length },
    reference.kind === 'tag' ? reference.tag : undefined,
    referrer,
    blobs,
  );
  if (referrer) ctx.set(Headers.ociSubject, referrer.subject);
  answerCreated(ctx, registryPaths.manifest(repository.fullName, digest), digest);
}

async function findManifest(
  services: DtrServices,
  repository: Repository,
  reference: ManifestReference,
): Promise<StoredManifest> {
  const manifest = await (reference.kind === 'tag'
    ? services.repositories.taggedManifest(repository, reference.tag)
    : services.repositories.manifest(repository, reference.digest.toString()));
  if (!manifest) {
    const detail =
      reference.kind === 'tag' ? { tag: reference.tag } : { digest: reference.digest.toString() };
    throw new RegistryError('MANIFEST_UNKNOWN', undefined, { detail });
  }
  return manifest;
}

/** True if the `Accept` header admits `mediaType` (no header, or a wildcard, admits everything). */
function accepts(acceptHeader: string, mediaType: string): boolean {
  if (acceptHeader.trim() === '') return true;
  return acceptHeader
    .split(',')
    .map((part) => (part.split(';')[0] ?? '').trim())
    .some((type) => type === mediaType || type === '*/*' || type === 'application/*');
}

/** `GET`/`HEAD /v2/<name>/manifests/<reference>`, with content negotiation on `Accept`. */
export async function getManifest(
  ctx: Context,
  services: DtrServices,
  name: string,
  reference: ManifestReference,
): Promise<void> {
  const repository = await authorizeRepository(ctx, services, name, 'pull');
  const manifest = await findManifest(services, repository, reference);
  if (!accepts(ctx.get(Headers.accept), manifest.mediaType)) {
    throw new RegistryError(
      'MANIFEST_UNKNOWN',
      `the manifest is a ${manifest.mediaType}, which the Accept header does not admit`,
      {
        detail: { mediaType: manifest.mediaType },
      },
    );
  }
  const digest = Digest.parse(manifest.digest);
  ctx.set(Headers.contentDigest, manifest.digest);
  ctx.set(Headers.etag, etagOf(digest));
  ctx.type = manifest.mediaType;
  if (ctx.get(Headers.ifNoneMatch) === etagOf(digest)) {
    ctx.status = 304;
    return;
  }
  ctx.status = 200;
  ctx.length = manifest.size;
  if (ctx.method === 'HEAD') return;
  ctx.body = (await services.blobs.open(digest)).stream;
}

/** `DELETE /v2/<name>/manifests/<reference>`: by digest the manifest and its tags, by tag the tag. */
export async function deleteManifest(
  ctx: Context,
  services: DtrServices,
  name: string,
  reference: ManifestReference,
): Promise<void> {
  if (!services.options.deleteEnabled)
    throw new RegistryError('UNSUPPORTED', 'deletes are disabled (storage.delete.enabled)');
  const repository = await authorizeRepository(ctx, services, name, 'delete');
  const deleted = await (reference.kind === 'tag'
    ? services.repositories.deleteTag(repository, reference.tag)
    : services.repositories.deleteManifest(repository, reference.digest.toString()));
  if (!deleted) await findManifest(services, repository, reference);
  ctx.status = 202;
  ctx.length = 0;
}

import {
  Digest,
  Headers,
  MANIFEST_MEDIA_TYPES,
  type OciDescriptor,
  isImageManifestMediaType,
  isIndexMediaType,
  registryPaths,
  resolveRegistryUrl,
} from '@dtr-cache/registry-protocol';
import { readErrorAnswer } from './error-answer';
import { PullError } from './pull-error';
import { type RegistryContext, authorizationHeaders, registryRefusal } from './registry-context';

/** Longest manifest read (the distribution reference registry's limit). */
const MANIFEST_LIMIT = 4 * 1024 * 1024;

/** The blobs of one image manifest: the config, then the layers in order. */
export interface ImageBlobs {
  readonly manifestDigest: string;
  readonly blobs: readonly OciDescriptor[];
}

/** The platform docker pulls by default. */
export const DEFAULT_PLATFORM = 'linux/amd64';

interface PlatformDescriptor extends OciDescriptor {
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
}

/**
 * The image's config and layers: its manifest from DTR (for an index, the manifest of
 * `platform`, `os/arch[/variant]`), each checked against its digest when one is known.
 * @throws PullError `not-found` (unknown repository, tag or platform), `denied`, `invalid` (not a
 *   manifest this tool reads), `unreachable`.
 */
export async function fetchImageBlobs(
  context: RegistryContext,
  reference: string,
  platform: string = DEFAULT_PLATFORM,
): Promise<ImageBlobs> {
  const top = await fetchManifest(context, reference);
  if (isImageManifestMediaType(top.mediaType)) return imageBlobsOf(context, top);
  if (!isIndexMediaType(top.mediaType))
    throw new PullError('invalid', `${context.repository}:${reference} is a ${top.mediaType}`);
  const manifests = (top.json as { manifests?: unknown }).manifests;
  const candidates = Array.isArray(manifests) ? (manifests as PlatformDescriptor[]) : [];
  const [os, architecture, variant] = platform.split('/');
  const chosen = candidates.find(
    (entry) =>
      entry.platform?.os === os &&
      entry.platform?.architecture === architecture &&
      (variant === undefined || entry.platform?.variant === variant),
  );
  if (!chosen || typeof chosen.digest !== 'string') {
    const offered = candidates
      .map((entry) =>
        [entry.platform?.os, entry.platform?.architecture, entry.platform?.variant]
          .filter((part) => typeof part === 'string')
          .join('/'),
      )
      .filter((name) => name !== '');
    throw new PullError(
      'not-found',
      `${context.repository}:${reference} has no ${platform} image (platforms: ${offered.join(', ') || 'none'})`,
    );
  }
  const child = await fetchManifest(context, chosen.digest);
  if (!isImageManifestMediaType(child.mediaType))
    throw new PullError(
      'invalid',
      `${context.repository}@${chosen.digest} is a ${child.mediaType}`,
    );
  return imageBlobsOf(context, child);
}

interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly json: object;
}

async function fetchManifest(
  context: RegistryContext,
  reference: string,
): Promise<FetchedManifest> {
  const url = resolveRegistryUrl(
    context.dtr,
    registryPaths.manifest(context.repository, reference),
  );
  const answer = await context.session.get(url, {
    ...authorizationHeaders(context),
    [Headers.accept]: MANIFEST_MEDIA_TYPES.join(', '),
  });
  if (answer.response.statusCode !== 200)
    throw registryRefusal(
      context,
      `the manifest ${context.repository}:${reference}`,
      await readErrorAnswer(context.session, answer),
    );
  const body = await context.session.readBody(answer, MANIFEST_LIMIT);
  const expected = Digest.tryParse(reference);
  const digest = Digest.of(body, expected?.algorithm ?? 'sha256');
  if (expected && !expected.equals(digest))
    throw new PullError(
      'invalid',
      `the manifest ${context.repository}@${reference} does not match its digest (got ${digest.toString()})`,
    );
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = undefined;
  }
  if (typeof json !== 'object' || json === null)
    throw new PullError('invalid', `the manifest ${context.repository}:${reference} is not JSON`);
  const declared = (json as { mediaType?: unknown }).mediaType;
  const header = answer.response.headers['content-type']?.split(';')[0]?.trim();
  const mediaType = typeof declared === 'string' ? declared : (header ?? 'unknown type');
  return { digest: digest.toString(), mediaType, json };
}

/** The config and layers of an image manifest, each a well-formed descriptor. */
function imageBlobsOf(context: RegistryContext, manifest: FetchedManifest): ImageBlobs {
  const { config, layers } = manifest.json as { config?: unknown; layers?: unknown };
  const descriptors = [config, ...(Array.isArray(layers) ? (layers as unknown[]) : [])];
  const blobs = descriptors.map((descriptor) => {
    const { digest, size } = (descriptor ?? {}) as Partial<OciDescriptor>;
    if (typeof digest !== 'string' || !Digest.tryParse(digest) || !Number.isSafeInteger(size))
      throw new PullError(
        'invalid',
        `the manifest ${context.repository}@${manifest.digest} has a malformed blob descriptor`,
      );
    return descriptor as OciDescriptor;
  });
  return { manifestDigest: manifest.digest, blobs };
}

import { Digest, isImageManifestMediaType, RegistryError } from '@dtr-cache/registry-protocol';
import type { ReferrerFields } from '../store/referrer-store';

function invalid(reason: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', undefined, { detail: { reason } });
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The digest of a manifest's `subject` descriptor. @throws RegistryError `MANIFEST_INVALID`. */
function subjectDigest(subject: unknown): string {
  if (!isObject(subject)) throw invalid('subject is not a descriptor');
  if (typeof subject['mediaType'] !== 'string') throw invalid('subject.mediaType is missing');
  const size = subject['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw invalid('subject.size is not a size');
  const digest =
    typeof subject['digest'] === 'string' ? Digest.tryParse(subject['digest']) : undefined;
  if (!digest) throw invalid('subject.digest is not a valid digest');
  return digest.toString();
}

function annotationsOf(document: Record<string, unknown>): Record<string, string> | undefined {
  const annotations = document['annotations'];
  if (annotations === undefined || annotations === null) return undefined;
  if (!isObject(annotations) || Object.values(annotations).some((v) => typeof v !== 'string'))
    throw invalid('annotations must map strings to strings');
  return annotations as Record<string, string>;
}

/**
 * What the referrers API lists for a manifest of `mediaType` (OCI 1.1): undefined without a
 * `subject`. Its artifact type is its `artifactType`, else for an image manifest its config's
 * media type, else none (an index).
 * @throws RegistryError `MANIFEST_INVALID` for a malformed `subject`, `artifactType` or
 *   `annotations`.
 */
export function referrerFieldsOf(
  mediaType: string,
  document: Record<string, unknown>,
): ReferrerFields | undefined {
  // Only a referrer's fields are checked: other manifests are stored as they were before.
  if (document['subject'] === undefined || document['subject'] === null) return undefined;
  const subject = subjectDigest(document['subject']);
  const artifactType = document['artifactType'] ?? undefined;
  if (artifactType !== undefined && typeof artifactType !== 'string')
    throw invalid('artifactType is not a media type');
  const annotations = annotationsOf(document);
  const config = document['config'];
  const configType =
    isImageManifestMediaType(mediaType) &&
    isObject(config) &&
    typeof config['mediaType'] === 'string'
      ? config['mediaType']
      : undefined;
  return { subject, artifactType: artifactType ?? configType, annotations };
}

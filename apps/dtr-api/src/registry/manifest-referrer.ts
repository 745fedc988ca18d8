import { isImageManifestMediaType } from '@dtr-cache/registry-protocol';
import type { ReferrerFields } from '../store/referrer-store';
import {
  type Descriptor,
  descriptorDigest,
  invalidManifest,
  isJsonObject,
} from './manifest-descriptor';

/** The digest of a manifest's `subject` descriptor. @throws RegistryError `MANIFEST_INVALID`. */
function subjectDigest(subject: unknown): string {
  if (isJsonObject(subject) && typeof subject['mediaType'] !== 'string')
    throw invalidManifest('subject.mediaType is missing');
  return descriptorDigest(subject as Descriptor, 'subject').toString();
}

function annotationsOf(document: Record<string, unknown>): Record<string, string> | undefined {
  const annotations = document['annotations'];
  if (annotations === undefined || annotations === null) return undefined;
  if (!isJsonObject(annotations) || Object.values(annotations).some((v) => typeof v !== 'string'))
    throw invalidManifest('annotations must map strings to strings');
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
    throw invalidManifest('artifactType is not a media type');
  const annotations = annotationsOf(document);
  const config = document['config'];
  const configType =
    isImageManifestMediaType(mediaType) &&
    isJsonObject(config) &&
    typeof config['mediaType'] === 'string'
      ? config['mediaType']
      : undefined;
  return { subject, artifactType: artifactType ?? configType, annotations };
}

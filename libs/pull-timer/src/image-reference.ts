import { isValidRepositoryName, parseManifestReference } from '@dtr-cache/registry-protocol';
import { PullError } from './pull-error';

/** An image of DTR: its repository and the manifest reference (a tag or a digest). */
export interface ImageReference {
  readonly repository: string;
  readonly reference: string;
}

/**
 * Reads `namespace/repo:tag`, `namespace/repo@sha256:…` or `namespace/repo` (tag `latest`), with
 * an optional leading `registryHost/` when it is DTR's own host (as `docker pull` is given it).
 * @throws PullError `not-found` naming the expected forms.
 */
export function parseImageReference(image: string, registryHost: string): ImageReference {
  const withoutHost = image.startsWith(`${registryHost}/`)
    ? image.slice(registryHost.length + 1)
    : image;
  const at = withoutHost.indexOf('@');
  const colon = withoutHost.lastIndexOf(':');
  const split = at !== -1 ? at : colon > withoutHost.lastIndexOf('/') ? colon : -1;
  const repository = split === -1 ? withoutHost : withoutHost.slice(0, split);
  const reference = split === -1 ? 'latest' : withoutHost.slice(split + 1);
  // DTR's repositories are `namespace/name`: a third component is another registry's host.
  let valid =
    isValidRepositoryName(repository) &&
    repository.split('/').length === 2 &&
    (at === -1 || reference.includes(':'));
  try {
    parseManifestReference(reference);
  } catch {
    valid = false;
  }
  if (!valid)
    throw new PullError(
      'not-found',
      `"${image}" is not an image of DTR: use namespace/repo:tag or namespace/repo@sha256:…`,
    );
  return { repository, reference };
}

import { Digest } from './digest';
import { RegistryError } from './registry-error';

/** Longest repository name the distribution reference implementation accepts. */
export const MAX_REPOSITORY_NAME_LENGTH = 255;

/** Longest tag: one leading character plus up to 127 more. */
export const MAX_TAG_LENGTH = 128;

/** One path component: lower-case alphanumerics joined by `.`, `_`, `__` or runs of `-`. */
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';

/** The distribution spec's `<name>` grammar: components separated by `/`. */
export const REPOSITORY_NAME_PATTERN = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

/** The distribution spec's tag grammar. */
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** True if `name` is a valid repository name (grammar and length). */
export function isValidRepositoryName(name: string): boolean {
  return name.length <= MAX_REPOSITORY_NAME_LENGTH && REPOSITORY_NAME_PATTERN.test(name);
}

/**
 * Returns `name` if it is a valid repository name.
 * @throws RegistryError `NAME_INVALID` saying why.
 */
export function parseRepositoryName(name: string): string {
  if (name.length > MAX_REPOSITORY_NAME_LENGTH) {
    throw new RegistryError('NAME_INVALID', 'invalid repository name', {
      detail: {
        name: `${name.slice(0, 64)}…`,
        reason: `longer than ${MAX_REPOSITORY_NAME_LENGTH} characters`,
      },
    });
  }
  if (!REPOSITORY_NAME_PATTERN.test(name)) {
    throw new RegistryError('NAME_INVALID', 'invalid repository name', {
      detail: {
        name,
        reason:
          'components of lower-case letters and digits, separated by ".", "_", "__" or "-", joined by "/"',
      },
    });
  }
  return name;
}

/** True if `tag` is a valid tag. */
export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** A manifest reference: a tag or a digest. */
export type ManifestReference =
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'digest'; readonly digest: Digest };

/**
 * Parses the `<reference>` of a manifest URL: a digest if it contains a colon, otherwise a tag.
 * @throws RegistryError `DIGEST_INVALID` or `TAG_INVALID`.
 */
export function parseManifestReference(reference: string): ManifestReference {
  if (reference.includes(':')) return { kind: 'digest', digest: Digest.parse(reference) };
  if (!isValidTag(reference)) {
    throw new RegistryError('TAG_INVALID', 'invalid tag', {
      detail: {
        tag: reference.slice(0, MAX_TAG_LENGTH + 1),
        reason: 'up to 128 characters of [a-zA-Z0-9_.-], not starting with "." or "-"',
      },
    });
  }
  return { kind: 'tag', tag: reference };
}

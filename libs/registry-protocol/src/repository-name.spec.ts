import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_REPOSITORY_NAME_LENGTH,
  isValidRepositoryName,
  isValidTag,
  parseManifestReference,
  parseRepositoryName,
} from './repository-name';

describe('repository names', () => {
  it.each([
    'alpine',
    'library/alpine',
    'a/b/c/d',
    'my-app',
    'my--app',
    'my_app',
    'my__app',
    'my.app',
    'a0/b1.c2_d3__e4-f5',
    '0',
  ])('accepts %s', (name) => {
    expect(isValidRepositoryName(name)).toBe(true);
    expect(parseRepositoryName(name)).toBe(name);
  });

  it.each([
    ['upper case', 'Library/alpine'],
    ['empty', ''],
    ['leading separator', '-app'],
    ['trailing separator', 'app-'],
    ['triple underscore', 'a___b'],
    ['double dot', 'a..b'],
    ['mixed separators', 'a._b'],
    ['empty component', 'a//b'],
    ['leading slash', '/a'],
    ['trailing slash', 'a/'],
    ['path traversal', 'a/../b'],
    ['dot component', 'a/./b'],
    ['space', 'a b'],
    ['colon', 'a:b'],
    ['percent', 'a%2fb'],
  ])('rejects %s', (_label, name) => {
    expect(isValidRepositoryName(name)).toBe(false);
    expect(() => parseRepositoryName(name)).toThrow(
      expect.objectContaining({ code: 'NAME_INVALID' }),
    );
  });

  it('enforces the length limit exactly', () => {
    const longest = `${'a'.repeat(100)}/${'b'.repeat(MAX_REPOSITORY_NAME_LENGTH - 101)}`;
    expect(longest).toHaveLength(MAX_REPOSITORY_NAME_LENGTH);
    expect(isValidRepositoryName(longest)).toBe(true);
    expect(isValidRepositoryName(`${longest}b`)).toBe(false);
    expect(() => parseRepositoryName(`${longest}b`)).toThrow(
      expect.objectContaining({
        code: 'NAME_INVALID',
        detail: expect.objectContaining({ reason: expect.stringContaining('255') }),
      }),
    );
  });

  const alphanumeric = fc
    .array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split('')), {
      minLength: 1,
      maxLength: 8,
    })
    .map((chars) => chars.join(''));
  const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
  const component = fc
    .tuple(alphanumeric, fc.array(fc.tuple(separator, alphanumeric), { maxLength: 3 }))
    .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(''));
  const grammarName = fc
    .array(component, { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join('/'));

  it('accepts every name the grammar generates (property)', () => {
    fc.assert(
      fc.property(grammarName, (name) => {
        expect(isValidRepositoryName(name)).toBe(name.length <= MAX_REPOSITORY_NAME_LENGTH);
      }),
    );
  });

  it('accepts no name breaking the grammar invariants (property)', () => {
    const chars = fc.constantFrom(...'ab0Z._-/: %'.split(''));
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 40 }).map((c) => c.join('')),
        (name) => {
          if (!isValidRepositoryName(name)) return;
          expect(name).toMatch(/^[a-z0-9]/);
          expect(name).toMatch(/[a-z0-9]$/);
          // "__" is a separator of its own; every other pair of separators is not.
          expect(name).not.toMatch(/[^a-z0-9._/-]|\/\/|___|[._-]\/|\/[._-]|\.[._-]|_[.-]|-[._]/);
        },
      ),
      { examples: [['a__a'], ['a_.a'], ['a-_a']] },
    );
  });
});

describe('tags and references', () => {
  it.each(['latest', 'v1.2.3', '_private', 'A-b_c.d', 'x'.repeat(128)])('accepts tag %s', (tag) => {
    expect(isValidTag(tag)).toBe(true);
    expect(parseManifestReference(tag)).toEqual({ kind: 'tag', tag });
  });

  it.each(['', '.hidden', '-dash', 'x'.repeat(129), 'a/b', 'a b', 'ä'])('rejects tag %j', (tag) => {
    expect(isValidTag(tag)).toBe(false);
    expect(() => parseManifestReference(tag)).toThrow(
      expect.objectContaining({ code: 'TAG_INVALID' }),
    );
  });

  it('reads a reference with a colon as a digest', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const reference = parseManifestReference(digest);
    expect(reference.kind).toBe('digest');
    expect(reference.kind === 'digest' && reference.digest.toString()).toBe(digest);
    expect(() => parseManifestReference('sha256:nothex')).toThrow(
      expect.objectContaining({ code: 'DIGEST_INVALID' }),
    );
  });
});

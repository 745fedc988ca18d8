import { describe, expect, it } from 'vitest';
import { PageError } from './page-kit';
import { chosenTag, listUrl, MAX_PAGE, pageNumber, parseListQuery } from './repository-query';

describe('repository list query', () => {
  it('reads the search (lower-case), filters and page, with defaults', () => {
    expect(parseListQuery({})).toEqual({ search: '', namespace: '', visibility: 'all', page: 1 });
    expect(
      parseListQuery({ q: ' Web ', namespace: 'acme', visibility: 'private', page: '3' }),
    ).toEqual({ search: 'web', namespace: 'acme', visibility: 'private', page: 3 });
    expect(parseListQuery({ q: ['first', 'second'] }).search).toBe('first');
  });

  it('refuses values no link produces with a 400 page', () => {
    for (const query of [
      { visibility: 'secret' },
      { namespace: 'No Such' },
      { q: 'x'.repeat(201) },
      { page: '0' },
      { page: '-1' },
      { page: '1.5' },
      { page: String(MAX_PAGE + 1) },
      { page: '99999999999999999999' },
    ]) {
      expect(() => parseListQuery(query), JSON.stringify(query)).toThrow(PageError);
      try {
        parseListQuery(query);
      } catch (error) {
        expect((error as PageError).status).toBe(400);
      }
    }
  });

  it('builds page links keeping the filters and leaving defaults out', () => {
    const query = parseListQuery({ q: 'a&b', namespace: 'acme', visibility: 'public' });
    expect(listUrl(query, 2)).toBe('/repositories?q=a%26b&namespace=acme&visibility=public&page=2');
    expect(listUrl(parseListQuery({}), 1)).toBe('/repositories');
  });

  it('reads the chosen tag and the page of a repository', () => {
    expect(chosenTag({})).toBe('');
    expect(chosenTag({ tag: 'v1.2-rc_3' })).toBe('v1.2-rc_3');
    expect(() => chosenTag({ tag: '-bad' })).toThrow(PageError);
    expect(() => chosenTag({ tag: 'a/b' })).toThrow(PageError);
    expect(pageNumber({ page: '2' })).toBe(2);
  });
});

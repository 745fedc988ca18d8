import { describe, expect, it } from 'vitest';
import { formatAccessScope, parseAccessScope, parseAccessScopes } from './access-scope';

describe('access scopes', () => {
  it('parses repository and registry scopes', () => {
    expect(parseAccessScope('repository:samalba/my-app:pull,push')).toEqual({
      type: 'repository',
      name: 'samalba/my-app',
      actions: ['pull', 'push'],
    });
    expect(parseAccessScope('registry:catalog:*')).toEqual({
      type: 'registry',
      name: 'catalog',
      actions: ['*'],
    });
  });

  it('keeps a host:port prefix in the name', () => {
    expect(parseAccessScope('repository:localhost:5000/app:pull').name).toBe('localhost:5000/app');
  });

  it('parses space-separated lists and formats back', () => {
    const scopes = parseAccessScopes('repository:a:pull  repository:b:pull,push');
    expect(scopes.map(formatAccessScope)).toEqual(['repository:a:pull', 'repository:b:pull,push']);
  });

  it.each([
    '',
    'repository',
    'repository:a',
    'repository:a:',
    ':a:pull',
    'repository::pull',
    'Repo:a:pull',
    'repository:a:pu ll',
  ])('rejects %j', (text) => {
    expect(() => parseAccessScope(text)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
  });
});

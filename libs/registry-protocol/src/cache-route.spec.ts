import { describe, expect, it } from 'vitest';
import { formatCacheRoute, parseCacheResult, parseCacheRoute } from './cache-route';
import { RegistryError } from './registry-error';

describe('parseCacheRoute', () => {
  it('reads none, a cache, and a cache with one member', () => {
    expect(parseCacheRoute('none')).toEqual({ kind: 'none' });
    expect(parseCacheRoute(' NONE ')).toEqual({ kind: 'none' });
    expect(parseCacheRoute('los-angeles')).toEqual({ kind: 'cache', cache: 'los-angeles' });
    expect(parseCacheRoute('region-us; member=https://127.0.0.14:5443/')).toEqual({
      kind: 'cache',
      cache: 'region-us',
      member: 'https://127.0.0.14:5443',
    });
    expect(parseCacheRoute('region-us;member=http://cache.example.com/prefix')).toEqual({
      kind: 'cache',
      cache: 'region-us',
      member: 'http://cache.example.com/prefix',
    });
  });

  it('reads back what it formats', () => {
    for (const value of ['none', 'la', 'region-us; member=https://c.example.com:5000'])
      expect(formatCacheRoute(parseCacheRoute(value))).toBe(value);
  });

  it.each([
    '',
    'Los-Angeles',
    'none; member=https://a',
    'la; member=ftp://a',
    'la; member=not a url',
    'la; member=https://user:pw@a',
    'la; member=https://a/?x=1',
    'la; weight=3',
    'la; member=https://a; member=https://b',
  ])('refuses %j with INVALID_REQUEST', (value) => {
    let error: unknown;
    try {
      parseCacheRoute(value);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('INVALID_REQUEST');
    expect((error as RegistryError).status).toBe(400);
  });
});

describe('parseCacheResult', () => {
  it('knows the four results and nothing else', () => {
    expect(parseCacheResult('hit')).toBe('hit');
    expect(parseCacheResult('Pass-Through')).toBe('pass-through');
    expect(parseCacheResult('coalesced')).toBe('coalesced');
    expect(parseCacheResult('miss ')).toBe('miss');
    expect(parseCacheResult('stale')).toBeUndefined();
    expect(parseCacheResult(null)).toBeUndefined();
  });
});

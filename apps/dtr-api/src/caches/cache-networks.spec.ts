import { describe, expect, it } from 'vitest';
import type { ContentCache } from '../store/content-cache-store';
import { CacheNetworkIndex } from './cache-networks';

const cache = (id: number, name: string, networks: string[]): ContentCache => ({
  id,
  name,
  host: `https://${name}.example:5000`,
  hosts: [`https://${name}.example:5000`],
  networks,
  createdAt: '2026-12-07T00:00:00.000Z',
});

describe('CacheNetworkIndex', () => {
  const caches = [
    cache(1, 'campus', ['10.0.0.0/8', '2001:db8::/32']),
    cache(2, 'building', ['10.20.0.0/16', '2001:db8:20::/48']),
    cache(3, 'lab', ['10.20.30.0/24']),
    cache(4, 'twin', ['10.20.30.0/24']),
  ];

  it('picks the cache whose networks contain the address, the longest prefix winning, v4 and v6', async () => {
    const index = new CacheNetworkIndex({ list: async () => caches });
    expect((await index.cacheFor('10.1.2.3'))?.name).toBe('campus');
    expect((await index.cacheFor('10.20.1.1'))?.name).toBe('building');
    expect((await index.cacheFor('10.20.30.40'))?.name).toBe('lab');
    expect((await index.cacheFor('::ffff:10.20.30.40'))?.name).toBe('lab');
    expect((await index.cacheFor('2001:db8:1::1'))?.name).toBe('campus');
    expect((await index.cacheFor('2001:DB8:20::7'))?.name).toBe('building');
    expect(await index.cacheFor('192.168.1.1')).toBeUndefined();
    expect(await index.cacheFor('fd00::1')).toBeUndefined();
    expect(await index.cacheFor('not an address')).toBeUndefined();
  });

  it('reloads the networks when they are older than the refresh time, once for lookups at the same time', async () => {
    let now = 0;
    let loads = 0;
    let current = [cache(1, 'old', ['10.0.0.0/8'])];
    const index = new CacheNetworkIndex(
      {
        list: async () => {
          loads += 1;
          return current;
        },
      },
      1000,
      () => now,
    );
    await Promise.all([index.cacheFor('10.0.0.1'), index.cacheFor('10.0.0.2')]);
    expect(loads).toBe(1);
    current = [cache(2, 'new', ['10.0.0.0/8'])];
    now = 500;
    expect((await index.cacheFor('10.0.0.1'))?.name).toBe('old');
    now = 1501;
    expect((await index.cacheFor('10.0.0.1'))?.name).toBe('new');
    index.invalidate();
    current = [];
    expect(await index.cacheFor('10.0.0.1')).toBeUndefined();
    expect(loads).toBe(3);
  });

  it('answers from the networks loaded before while a reload fails, and throws when none were loaded', async () => {
    let now = 0;
    let down = true;
    const index = new CacheNetworkIndex(
      {
        list: async () => {
          if (down) throw new Error('the database does not answer');
          return [cache(1, 'campus', ['10.0.0.0/8'])];
        },
      },
      1000,
      () => now,
    );
    await expect(index.cacheFor('10.0.0.1')).rejects.toThrow('the database does not answer');
    down = false;
    expect((await index.cacheFor('10.0.0.1'))?.name).toBe('campus');
    down = true;
    now = 1501;
    expect((await index.cacheFor('10.0.0.1'))?.name).toBe('campus');
    index.invalidate();
    expect((await index.cacheFor('10.0.0.1'))?.name).toBe('campus');
  });
});

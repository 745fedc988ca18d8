import { describe, expect, it } from 'vitest';
import { CliError } from './cli-error';
import { buildRoutes } from './routes';

const registered = [
  { name: 'region-us', members: ['http://127.0.0.11:5000', 'http://127.0.0.14:5000'] },
  { name: 'san-francisco', members: ['https://127.0.0.12:5000'] },
  { name: 'los-angeles', members: ['https://127.0.0.13:5000'] },
];

describe('buildRoutes', () => {
  it('measures direct, then every registered cache (a group is one route)', () => {
    expect(buildRoutes(registered, [], false).map((route) => [route.name, route.route])).toEqual([
      ['direct', { kind: 'none' }],
      ['region-us', { kind: 'cache', cache: 'region-us' }],
      ['san-francisco', { kind: 'cache', cache: 'san-francisco' }],
      ['los-angeles', { kind: 'cache', cache: 'los-angeles' }],
    ]);
  });

  it('measures the named caches in their order, each member of a group with --members', () => {
    const routes = buildRoutes(registered, ['los-angeles', 'region-us', 'los-angeles'], true);
    expect(routes.map((route) => [route.name, route.cache, route.member])).toEqual([
      ['direct', null, null],
      ['los-angeles', 'los-angeles', null],
      ['region-us http://127.0.0.11:5000', 'region-us', 'http://127.0.0.11:5000'],
      ['region-us http://127.0.0.14:5000', 'region-us', 'http://127.0.0.14:5000'],
    ]);
    expect(routes[3]?.route).toEqual({
      kind: 'cache',
      cache: 'region-us',
      member: 'http://127.0.0.14:5000',
    });
  });

  it('names the registered caches when a name is unknown (exit code 2)', () => {
    const refuse = (list: typeof registered) => () => buildRoutes(list, ['tokyo'], false);
    expect(refuse(registered)).toThrow(
      new CliError('no cache named tokyo (registered: region-us, san-francisco, los-angeles)', 2),
    );
    expect(refuse([])).toThrow('no cache named tokyo (registered: none)');
  });
});

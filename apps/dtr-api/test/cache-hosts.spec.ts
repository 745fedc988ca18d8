import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@dtr-cache/logging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheAddressPolicy } from '../src/caches/cache-address-policy';
import { CacheHealthMonitor } from '../src/caches/cache-health-monitor';
import { CacheHealthStore } from '../src/store/cache-health-store';
import { ContentCacheStore } from '../src/store/content-cache-store';
import { openTestDatabase } from './test-database';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

const admin = basic(ADMIN.username, ADMIN.password);

async function register(dtr: RunningDtr, name: string, host: string) {
  const response = await dtr.fetch('/api/v0/content_caches', {
    ...json('POST', { name, host }),
    authorization: admin,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('content cache hosts DTR may reach', () => {
  let dtr: RunningDtr;
  let allowing: RunningDtr;
  beforeAll(async () => {
    dtr = await startDtr();
    allowing = await startDtr('contentcaches: { allowednetworks: [169.254.10.0/24] }');
  });
  afterAll(async () => {
    await dtr.close();
    await allowing.close();
  });

  it.each([
    'http://169.254.169.254/latest',
    'http://169.254.169.254:80',
    'http://[fd00:ec2::254]',
    'http://[fe80::1]:5000',
    'http://[::ffff:169.254.169.254]:5000',
    'http://[::ffff:a9fe:a9fe]:5000',
    'http://0.0.0.0:5000',
    'http://224.0.0.1:5000',
    'http://255.255.255.255:5000',
    'http://100.100.100.200',
    'http://metadata.google.internal',
    'http://METADATA.GOOGLE.INTERNAL.',
  ])('refuses %s at registration', async (host) => {
    const { status, body } = await register(dtr, `c${Math.abs(host.length * 7919) % 100000}`, host);
    expect(status).toBe(400);
    expect(body).toMatchObject({ errors: [{ code: 'INVALID_REQUEST' }] });
  });

  it('accepts loopback, private and named hosts, and ranges an administrator allowed', async () => {
    expect((await register(dtr, 'loopback', 'http://127.0.0.2:5000')).status).toBe(201);
    expect((await register(dtr, 'private', 'https://10.20.30.40:5000')).status).toBe(201);
    expect((await register(dtr, 'named', 'https://cache.example.com:5000')).status).toBe(201);
    expect((await register(dtr, 'linklocal', 'http://169.254.10.5:5000')).status).toBe(400);
    expect((await register(allowing, 'linklocal', 'http://169.254.10.5:5000')).status).toBe(201);
    expect((await register(allowing, 'metadata', 'http://169.254.169.254')).status).toBe(400);
  });
});

describe('health checks', () => {
  let healthy: Server;
  let failing: Server;
  let silent: Server;
  let port: (server: Server) => number;

  beforeAll(async () => {
    healthy = createServer((_request, response) => response.writeHead(401).end());
    failing = createServer((_request, response) => response.writeHead(503).end());
    silent = createServer(() => undefined);
    for (const server of [healthy, failing, silent])
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server) => (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const server of [healthy, failing, silent]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A monitor whose resolver answers `answers[hostname]` (what DNS says now). */
  async function monitorWith(answers: Record<string, string>) {
    const database = await openTestDatabase();
    const caches = new ContentCacheStore(database.database);
    const resolve = ((
      hostname: string,
      _options: unknown,
      callback: (...args: unknown[]) => void,
    ) => {
      const address = answers[hostname];
      if (address === undefined)
        callback(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
      else callback(null, [{ address, family: address.includes(':') ? 6 : 4 } as LookupAddress]);
    }) as never;
    const monitor = new CacheHealthMonitor(
      caches,
      new CacheHealthStore(database.database),
      {
        intervalMs: 60_000,
        timeoutMs: 500,
        cas: [],
        addresses: new CacheAddressPolicy([], resolve),
      },
      silentLogger,
    );
    return { database, caches, monitor };
  }

  it('says only a coarse reason: unreachable, timeout, TLS error or the HTTP status', async () => {
    const { database, caches, monitor } = await monitorWith({});
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const cases: Array<[string, string, string | undefined]> = [
      ['up', `http://127.0.0.1:${port(healthy)}`, undefined],
      ['down', `http://127.0.0.1:${closedPort}`, 'unreachable'],
      ['broken', `http://127.0.0.1:${port(failing)}`, 'HTTP 503'],
      ['silent', `http://127.0.0.1:${port(silent)}`, 'timeout'],
      ['not-tls', `https://127.0.0.1:${port(healthy)}`, 'TLS error'],
      ['nowhere', 'http://no-such-host.invalid:5000', 'unreachable'],
    ];
    for (const [name, host, reason] of cases) {
      const result = await monitor.check(await caches.create(name, [host]));
      expect(result.error, name).toBe(reason);
      expect(result.healthy, name).toBe(reason === undefined);
    }
    await monitor.stop();
    await database.close();
  });

  it('checks the address a name resolves to at every check: a name turning to a refused address is refused', async () => {
    const answers: Record<string, string> = { 'rebind.test': '127.0.0.1' };
    const { database, caches, monitor } = await monitorWith(answers);
    let requests = 0;
    healthy.on('request', () => (requests += 1));
    const cache = await caches.create('rebind', [`http://rebind.test:${port(healthy)}`]);
    expect(await monitor.check(cache)).toMatchObject({ healthy: true });
    const before = requests;
    answers['rebind.test'] = '169.254.169.254';
    expect(await monitor.check(cache)).toMatchObject({ healthy: false, error: 'refused address' });
    expect(requests).toBe(before);
    await monitor.stop();
    await database.close();
  });

  it('shows the coarse reason in the API, never the connection error', async () => {
    const dtr = await startDtr();
    try {
      const { body } = await register(dtr, 'ssh', 'http://127.0.0.1:22');
      const id = body['id'] as number;
      await dtr.services.cacheHealth.check((await dtr.services.caches.find(id)) as never);
      const shown = await (
        await dtr.fetch(`/api/v0/content_caches/${id}`, { authorization: admin })
      ).text();
      expect(shown).toContain('"error":"unreachable"');
      expect(shown).not.toMatch(/ECONNREFUSED|connect /);
    } finally {
      await dtr.close();
    }
  });
});

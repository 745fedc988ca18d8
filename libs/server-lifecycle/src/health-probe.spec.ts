import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { healthCheckConfigPath, probeHealth } from './health-probe';
import { listen } from './server-lifecycle';

describe('probeHealth', () => {
  const statuses = new Map([
    ['/health', 200],
    ['/broken', 503],
  ]);
  const server = createServer((request, response) => {
    if (request.url === '/slow') return;
    response.statusCode = statuses.get(request.url ?? '') ?? 404;
    response.end();
  });
  const listening = listen(server, { kind: 'tcp', host: '127.0.0.1', port: 0 });
  const port = async () => Number((await listening).split(':')[1]);
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is true for 200 and false for any other status', async () => {
    const listen = { kind: 'tcp' as const, host: '127.0.0.1', port: await port() };
    expect(await probeHealth({ listen, tls: false, path: '/health' })).toBe(true);
    expect(await probeHealth({ listen, tls: false, path: '/broken' })).toBe(false);
    expect(await probeHealth({ listen, tls: false, path: '/missing' })).toBe(false);
  });

  it('is false when nothing answers in time or the protocol is wrong', async () => {
    const listen = { kind: 'tcp' as const, host: '127.0.0.1', port: await port() };
    expect(await probeHealth({ listen, tls: false, path: '/slow', timeoutMs: 200 })).toBe(false);
    expect(await probeHealth({ listen, tls: true, path: '/health', timeoutMs: 1000 })).toBe(false);
  });
});

describe('healthCheckConfigPath', () => {
  const folder = mkdtempSync(join(tmpdir(), 'health-probe-'));
  const cmdline = join(folder, 'cmdline');
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('prefers its own argument, else the last argument of the main process', () => {
    writeFileSync(cmdline, 'node\0/app/bin/content-cache.mjs\0/config.yml\0');
    expect(healthCheckConfigPath(['/other.yml'], cmdline)).toBe('/other.yml');
    expect(healthCheckConfigPath([], cmdline)).toBe('/config.yml');
  });

  it('refuses a main process without a configuration argument', () => {
    writeFileSync(cmdline, 'node\0');
    expect(() => healthCheckConfigPath([], cmdline)).toThrow(/no configuration file/);
    writeFileSync(cmdline, 'node\0/app/bin/dtr-api.mjs\0--help\0');
    expect(() => healthCheckConfigPath([], cmdline)).toThrow(/no configuration file/);
  });
});

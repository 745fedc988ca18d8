import { createServer, request } from 'node:http';
import { silentLogger } from '@dtr-cache/logging';
import { describe, expect, it } from 'vitest';
import { listen, stopOnSignals } from './server-lifecycle';

describe('listen', () => {
  it('binds and reports the port actually bound', async () => {
    const server = createServer((_request, response) => response.end('ok'));
    const address = await listen(server, { kind: 'tcp', host: '127.0.0.1', port: 0 });
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`http://${address}/`)).text()).toBe('ok');
    await new Promise((resolve) => server.close(resolve));
  });

  it('rejects when the address is taken', async () => {
    const first = createServer();
    const address = await listen(first, { kind: 'tcp', host: '127.0.0.1', port: 0 });
    const second = createServer();
    await expect(
      listen(second, { kind: 'tcp', host: '127.0.0.1', port: Number(address.split(':')[1]) }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await new Promise((resolve) => first.close(resolve));
  });
});

describe('stopOnSignals', () => {
  it('lets a request in flight finish, then releases and exits 0', async () => {
    let finishRequest: (() => void) | undefined;
    const server = createServer((_request, response) => {
      finishRequest = () => response.end('done');
    });
    const address = await listen(server, { kind: 'tcp', host: '127.0.0.1', port: 0 });
    const events: string[] = [];
    const exited = new Promise<number>((resolve) => {
      const stop = stopOnSignals(server, {
        drainTimeoutMs: 5000,
        logger: silentLogger,
        release: () => void events.push('released'),
        exit: (code) => resolve(code),
      });
      const body = new Promise<string>((done) =>
        request(`http://${address}/`, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => done(text));
        }).end(),
      );
      void (async () => {
        while (!finishRequest) await new Promise((wait) => setTimeout(wait, 5));
        stop('SIGTERM');
        events.push('stopping');
        finishRequest();
        events.push(`body:${await body}`);
      })();
    });
    expect(await exited).toBe(0);
    expect(events).toEqual(['stopping', 'body:done', 'released']);
  });

  it('exits 1 when release never finishes or fails, instead of staying alive', async () => {
    for (const release of [
      () => new Promise<void>(() => undefined),
      () => Promise.reject(new Error('x')),
    ]) {
      const server = createServer();
      await listen(server, { kind: 'tcp', host: '127.0.0.1', port: 0 });
      const exited = new Promise<number>((resolve) => {
        const stop = stopOnSignals(server, {
          drainTimeoutMs: 1000,
          logger: silentLogger,
          release,
          exit: (code) => resolve(code),
          releaseTimeoutMs: 200,
        });
        stop('SIGTERM');
      });
      expect(await exited).toBe(1);
    }
  });
});

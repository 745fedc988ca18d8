import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { configuredHeaders } from './configured-headers';
import { registryErrorMiddleware } from './error-middleware';
import { RegistryError } from './registry-error';

describe('configuredHeaders', () => {
  it('sets every configured header on answers and on errors', async () => {
    const app = new Koa();
    app.use(configuredHeaders({ 'X-Content-Type-Options': ['nosniff'], 'X-Multi': ['a', 'b'] }));
    app.use(registryErrorMiddleware());
    app.use((ctx) => {
      if (ctx.path === '/fail') throw new RegistryError('DENIED');
      ctx.body = 'ok';
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    try {
      for (const path of ['/ok', '/fail']) {
        const answer = await fetch(`http://127.0.0.1:${port}${path}`);
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
        expect(answer.headers.get('x-multi')).toBe('a, b');
      }
    } finally {
      server.close();
    }
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RegistryError } from '@dtr-cache/registry-protocol';
import { configuredHeaders, registryErrorMiddleware } from './registry-error-middleware';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(app: Koa): Promise<string> {
  const listening = createServer(app.callback());
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
}

function appThrowing(error: unknown, onUnexpectedError = vi.fn()): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(configuredHeaders({ 'Docker-Distribution-Api-Version': ['registry/2.0'] }));
  app.use(registryErrorMiddleware({ onUnexpectedError }));
  app.use(() => {
    throw error;
  });
  return app;
}

describe('registryErrorMiddleware', () => {
  it('renders a registry error as the envelope with the status of its code', async () => {
    const url = await serve(
      appThrowing(new RegistryError('BLOB_UNKNOWN', undefined, { detail: { digest: 'sha256:x' } })),
    );
    const response = await fetch(`${url}/v2/a/blobs/x`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await response.json()).toEqual({
      errors: [
        {
          code: 'BLOB_UNKNOWN',
          message: 'blob unknown to registry',
          detail: { digest: 'sha256:x' },
        },
      ],
    });
  });

  it('sends no body on HEAD', async () => {
    const url = await serve(appThrowing(new RegistryError('BLOB_UNKNOWN')));
    const response = await fetch(`${url}/v2/a/blobs/x`, { method: 'HEAD' });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('');
  });

  it('sets the headers an error carries', async () => {
    const challenge = 'Bearer realm="https://dtr/auth/token",service="dtr"';
    const url = await serve(
      appThrowing(
        new RegistryError('UNAUTHORIZED', undefined, {
          headers: { 'WWW-Authenticate': challenge },
        }),
      ),
    );
    const response = await fetch(`${url}/v2/`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(challenge);
  });

  it('drops the headers of the content the failed request was about to get, keeping the others', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(registryErrorMiddleware());
    app.use((ctx) => {
      ctx.set('X-Everywhere', 'yes');
      ctx.set('Docker-Content-Digest', 'sha256:x');
      ctx.set('ETag', '"sha256:x"');
      ctx.set('Cache-Control', 'max-age=31536000');
      ctx.set('Accept-Ranges', 'bytes');
      ctx.set('Content-Range', 'bytes 0-1/2');
      throw new RegistryError('RANGE_INVALID');
    });
    const response = await fetch(await serve(app));
    expect(response.status).toBe(416);
    expect(response.headers.get('x-everywhere')).toBe('yes');
    for (const name of [
      'docker-content-digest',
      'etag',
      'cache-control',
      'accept-ranges',
      'content-range',
    ]) {
      expect(response.headers.get(name), name).toBeNull();
    }
  });

  it('hides unexpected errors behind UNKNOWN and reports them', async () => {
    const onUnexpectedError = vi.fn();
    const url = await serve(
      appThrowing(new Error('secret database path /var/x'), onUnexpectedError),
    );
    const response = await fetch(`${url}/anything`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toEqual({ errors: [{ code: 'UNKNOWN', message: 'unknown error' }] });
    expect(onUnexpectedError).toHaveBeenCalledWith(
      expect.objectContaining({ message: 'secret database path /var/x' }),
      expect.anything(),
    );
  });

  it('maps HTTP errors raised by Koa to the code of their status', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(registryErrorMiddleware());
    app.use((ctx) => ctx.throw(413, 'body exceeds 1 MiB'));
    const url = await serve(app);
    const response = await fetch(url);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      errors: [{ code: 'TOO_LARGE', message: 'body exceeds 1 MiB' }],
    });
  });

  it('renders NOT_FOUND when no route answered', async () => {
    const app = new Koa();
    app.use(registryErrorMiddleware());
    const url = await serve(app);
    const response = await fetch(`${url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ errors: [{ code: 'NOT_FOUND' }] });
  });
});

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

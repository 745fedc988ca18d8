import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRouter } from '../src/api/api-router';
import { openApiDocument } from '../src/api/openapi-document';
import { ADMIN, basic, type RunningDtr, startDtr } from './dtr-harness';

let dtr: RunningDtr;

beforeAll(async () => {
  dtr = await startDtr();
});
afterAll(async () => dtr.close());

describe('API documentation', () => {
  it('documents exactly the routes the API serves', () => {
    const served = apiRouter(dtr.services)
      .stack.flatMap((layer) =>
        layer.methods
          .filter((method) => method !== 'HEAD')
          .map(
            (method) =>
              `${method.toLowerCase()} ${String(layer.path)
                .replace('/api/v0', '')
                .replace(/:(\w+)/g, '{$1}')}`,
          ),
      )
      .sort();
    const documented = Object.entries(openApiDocument.paths)
      .flatMap(([path, operations]) =>
        Object.keys(operations)
          .filter((key) => key !== 'parameters')
          .map((method) => `${method} ${path}`),
      )
      .sort();
    expect(documented).toEqual(served);
  });

  it('serves the OpenAPI document', async () => {
    const response = await dtr.fetch('/api/v0/openapi.json');
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toMatch(/^3\./);
    expect(document.paths['/content_caches']).toHaveProperty('post');
  });

  it('serves the interactive docs page and its assets from the installed package', async () => {
    const page = await dtr.fetch('/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    for (const asset of html.match(/\/api\/docs\/[\w.-]+/g) ?? []) {
      const response = await dtr.fetch(asset);
      expect(response.status, asset).toBe(200);
      expect((await response.text()).length, asset).toBeGreaterThan(10);
    }
    expect(await (await dtr.fetch('/api/docs/init.js')).text()).toContain(
      "url: '/api/v0/openapi.json'",
    );
    expect((await dtr.fetch('/api/docs/../../etc/passwd')).status).toBe(404);
    expect((await dtr.fetch('/api/docs/index.html')).status).toBe(404);
  });

  it('lets an administrator make the documented content cache call', async () => {
    const example =
      openApiDocument.paths['/content_caches'].post.requestBody.content['application/json'].example;
    const response = await dtr.fetch('/api/v0/content_caches', {
      method: 'POST',
      authorization: basic(ADMIN.username, ADMIN.password),
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(example),
    });
    expect(response.status).toBe(201);
  });
});

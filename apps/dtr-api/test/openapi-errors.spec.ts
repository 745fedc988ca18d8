/**
 * The OpenAPI document's error envelope against real error answers: each answer must match the
 * schema documented for its operation and status, and every value in it must be typed (Swagger UI
 * shows a schema without a type as a string: `detail` was one, though DTR sends an object).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/api/openapi-document';
import { ADMIN, basic, json, type RunningDtr, startDtr } from './dtr-harness';

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
}

const document = openApiDocument as unknown as {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, Schema> };
};

/** The JSON type of `value` as OpenAPI names it. */
function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** What in `value` does not match `schema` (which must type everything it describes). */
function mismatches(schema: Schema, value: unknown, at = '$'): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = document.components.schemas[name];
    return target ? mismatches(target, value, at) : [`${at}: unknown $ref ${schema.$ref}`];
  }
  if (!schema.type) return [`${at}: the schema gives no type (Swagger UI shows "string")`];
  const actual = typeOf(value);
  if (actual !== schema.type && !(schema.type === 'number' && actual === 'integer'))
    return [`${at}: ${actual}, documented ${schema.type}`];
  if (schema.type === 'array')
    return (value as unknown[]).flatMap((item, index) =>
      schema.items ? mismatches(schema.items, item, `${at}[${index}]`) : [],
    );
  if (schema.type !== 'object') return [];
  const object = value as Record<string, unknown>;
  const problems = (schema.required ?? [])
    .filter((key) => !(key in object))
    .map((key) => `${at}.${key}: required, missing`);
  for (const [key, property] of Object.entries(object)) {
    const documented = schema.properties?.[key];
    if (documented) problems.push(...mismatches(documented, property, `${at}.${key}`));
    else if (schema.additionalProperties !== true) problems.push(`${at}.${key}: not documented`);
  }
  return problems;
}

/** The schema documented for `method path` answering `status`. */
function documentedSchema(path: string, method: string, status: number): Schema {
  const response = document.paths[path]?.[method]?.responses[String(status)] as
    { content?: Record<string, { schema: Schema }> } | undefined;
  const schema = response?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${path} documents no JSON answer for ${status}`);
  return schema;
}

let dtr: RunningDtr;
const admin = basic(ADMIN.username, ADMIN.password);

beforeAll(async () => {
  dtr = await startDtr();
});
afterAll(async () => dtr.close());

describe('the OpenAPI error envelope', () => {
  it('types detail as an object, with an object as its example', () => {
    const detail = document.components.schemas['ErrorEnvelope']?.properties?.['errors']?.items
      ?.properties?.['detail'] as Schema & { example?: unknown };
    expect(detail.type).toBe('object');
    expect(typeOf(detail.example)).toBe('object');
  });

  it.each([
    {
      what: 'a cache that does not exist (404, detail: the id)',
      path: '/content_caches/{id}',
      method: 'get',
      send: () => dtr.fetch('/api/v0/content_caches/424242', { authorization: admin }),
      status: 404,
      hasDetail: true,
    },
    {
      what: 'a registration with a bad host (400, detail: the field)',
      path: '/content_caches',
      method: 'post',
      send: () =>
        dtr.fetch('/api/v0/content_caches', {
          ...json('POST', { name: 'bad', hosts: ['not a url'] }),
          authorization: admin,
        }),
      status: 400,
      hasDetail: true,
    },
    {
      what: 'no credentials (401)',
      path: '/content_caches',
      method: 'get',
      send: () => dtr.fetch('/api/v0/content_caches'),
      status: 401,
      hasDetail: false,
    },
  ])('matches a real answer: $what', async ({ path, method, send, status, hasDetail }) => {
    const response = await send();
    expect(response.status).toBe(status);
    const body = (await response.json()) as { errors: Array<{ detail?: unknown }> };
    expect(body.errors.length).toBeGreaterThan(0);
    if (hasDetail) expect(typeOf(body.errors[0]?.detail)).toBe('object');
    expect(mismatches(documentedSchema(path, method, status), body)).toEqual([]);
  });
});

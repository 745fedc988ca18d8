/** Building blocks of the OpenAPI document's paths. */

/**
 * The error envelope every API error answers (the registry protocol's): `errors`, each with a
 * `code`, a `message` and, for programs, a `detail` — any JSON value by the protocol, an object in
 * every error DTR sends (what the error is about: the id not found, the field refused and why).
 */
export const errorEnvelopeSchema = {
  type: 'object',
  required: ['errors'],
  properties: {
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', example: 'NOT_FOUND' },
          message: { type: 'string', example: 'no such content cache' },
          detail: {
            type: 'object',
            additionalProperties: true,
            description:
              'What the error is about, for programs (absent when there is nothing to add). Any JSON value by the registry protocol; DTR sends an object, e.g. `{"id": "42"}` or `{"reason": "…"}`.',
            example: { id: '42' },
          },
        },
      },
    },
  },
};

export const errorResponse = {
  description: 'Error envelope',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
};
export const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), errorResponse]));
export const jsonBody = (schema: string, example: unknown) => ({
  required: true,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` }, example } },
});
export const jsonResponse = (description: string, schema: unknown) => ({
  description,
  content: { 'application/json': { schema } },
});
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const pathParameter = (name: string, description: string, type = 'string') => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type },
});

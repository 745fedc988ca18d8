/** Building blocks of the OpenAPI document's paths. */

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

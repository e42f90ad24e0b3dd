import { z } from 'zod';
import { errorSchema, lookupBodySchema, lookupResponseSchema } from './lookup-schema.ts';

const json = (schema: z.ZodType) => ({
  'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) },
});
const errors = {
  '400': {
    description: 'Invalid request; details.path is the JSON path of the problem',
    content: json(errorSchema),
  },
  '404': { description: 'Unknown feature service or view', content: json(errorSchema) },
  '413': { description: 'Body or entity count over the limit', content: json(errorSchema) },
  '503': { description: 'Online store unavailable after retries', content: json(errorSchema) },
};

/** OpenAPI 3.1 description of the lookup API, generated from the same zod schemas the handler uses. */
export function openApiDocument(version: string) {
  const lookup = (summary: string, parameter: string) => ({
    post: {
      summary,
      parameters: [
        {
          name: parameter,
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
        },
      ],
      requestBody: { required: true, content: json(lookupBodySchema) },
      responses: {
        '200': {
          description: 'One result per entity, in request order',
          content: json(lookupResponseSchema),
        },
        ...errors,
      },
    },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'fstore online lookup API', version },
    paths: {
      '/v1/features/{service}': lookup('Features of a feature service for each entity', 'service'),
      '/v1/feature-views/{view}': lookup('Features of one feature view for each entity', 'view'),
      '/v1/registry': {
        get: {
          summary: 'Feature views and services with types, owners, tags and descriptions',
          responses: { '200': { description: 'The registry' } },
        },
      },
      '/v1/health': {
        get: {
          summary: 'Liveness and online-store reachability',
          responses: {
            '200': { description: 'Healthy' },
            '503': { description: 'Online store unreachable' },
          },
        },
      },
      '/v1/openapi.json': {
        get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
    },
  };
}

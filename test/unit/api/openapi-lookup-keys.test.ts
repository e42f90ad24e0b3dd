import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../lib/api/openapi.ts';

type Schema = Record<string, unknown> & {
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
};

const jsonSchema = (content: unknown) =>
  (content as { 'application/json': { schema: Schema } })['application/json'].schema;

function viewLookup() {
  const paths = openApiDocument('test').paths as unknown as Record<
    string,
    {
      post?: {
        requestBody: { content: unknown };
        responses: Record<string, { content?: unknown }>;
      };
    }
  >;
  const post = paths['/v1/feature-views/{view}']?.post;
  if (!post) throw new Error('the document has no POST /v1/feature-views/{view}');
  return post;
}

describe('the OpenAPI document’s join-key values', () => {
  it('in a request, are a string or a number (a boolean only as an on-demand request value), an int64 beyond 2^53 described as a decimal string', () => {
    const key = jsonSchema(viewLookup().requestBody.content).properties?.entities?.items
      ?.additionalProperties;
    expect(key?.type).toEqual(['string', 'number', 'boolean']);
    expect(key?.description).toContain('request values');
    expect(key?.description).toContain('int64');
    expect(key?.description).toContain('decimal string');
    expect(key?.description).toContain('2^53');
  });

  it('in an answer, are echoed as they were sent', () => {
    const key = jsonSchema(viewLookup().responses['200']?.content).properties?.results?.items
      ?.properties?.entity?.additionalProperties;
    expect(key?.type).toEqual(['string', 'number']);
    expect(key?.description).toContain('as it was sent');
  });
});

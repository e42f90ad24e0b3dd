import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createLookupHandler,
  localLambdaContext,
  readLookupConfig,
} from '../../../lambdas/online-lookup/handler.ts';
import { type ApiDependencies, handleRequest } from '../../../lib/api/handle-request.ts';
import { parseJsonBody } from '../../../lib/api/parse-json-body.ts';
import { fetchedLookupOf } from '../../helpers/fetched-lookup.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

const { registry } = onlineRegistry();
const lookups: unknown[] = [];
const deps: ApiDependencies = {
  registry,
  limits: { maxEntities: 100, maxBodyBytes: 262_144 },
  lookup: async (request) => {
    lookups.push(request);
    return fetchedLookupOf(registry, request, () => undefined);
  },
  health: async () => true,
};
const json = { 'content-type': 'application/json' };
const post = (body: string, headers: Record<string, string> | undefined = json) =>
  handleRequest(
    { method: 'POST', path: '/v1/feature-views/profile', body, ...(headers ? { headers } : {}) },
    deps,
  );
const errorOf = (response: { body: string }) =>
  JSON.parse(response.body).error as { code: string; details: { path?: string } };

describe('request hygiene in the shared request handling', () => {
  it.each([
    ['{"entities":[{"customer_id":"C1","__proto__":{"polluted":1}}]}', '$.entities[0].__proto__'],
    ['{"entities":[{"customer_id":"C1","constructor":"x"}]}', '$.entities[0].constructor'],
    ['{"entities":[{"customer_id":"C1","prototype":"x"}]}', '$.entities[0].prototype'],
    ['{"entities":[{"customer_id":"C1"}],"__proto__":{"polluted":1}}', '$.__proto__'],
    [
      '{"entities":[{"customer_id":"C1"}],"features":["plan"],"x":{"constructor":{"prototype":{}}}}',
      '$.x.constructor',
    ],
  ])('refuses the prototype key in %s with 400 at %s', async (body, path) => {
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details.path).toBe(path);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never lets a body change a prototype, whatever keys it nests', async () => {
    const key = fc.constantFrom('__proto__', 'constructor', 'prototype', 'customer_id', 'polluted');
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.dictionary(key, tie('tree'), { maxKeys: 3 }),
        fc.array(tie('tree'), { maxLength: 3 }),
      ),
    }));
    await fc.assert(
      fc.asyncProperty(tree, async (value) => {
        const text = JSON.stringify({ entities: [value] }).replaceAll('"polluted"', '"__proto__"');
        const response = await post(text);
        expect([200, 400]).toContain(response.statusCode);
        if (text.match(/"(__proto__|constructor|prototype)":/))
          expect(response.statusCode).toBe(400);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('answers 400, not a stack overflow, for JSON nested 100,000 deep', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(() => parseJsonBody(deep)).not.toThrow();
    const response = await post(`{"entities":${deep}}`);
    expect(response.statusCode).toBe(400);
    const keyed = `${'{"a":'.repeat(30_000)}{"__proto__":1}${'}'.repeat(30_000)}`;
    expect((await post(keyed)).statusCode).toBe(400);
  });

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
    'application/jsonp',
    'multipart/form-data; boundary=x',
    '',
  ])('answers 415 to a lookup whose content-type is "%s"', async (type) => {
    const response = await post('{"entities":[{"customer_id":"C1"}]}', { 'content-type': type });
    expect(response.statusCode).toBe(415);
    expect(errorOf(response).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 415 to a lookup with headers but no content-type, and checks nothing without headers', async () => {
    expect((await post('{"entities":[{"customer_id":"C1"}]}', {})).statusCode).toBe(415);
    expect((await post('{"entities":[{"customer_id":"C1"}]}', undefined)).statusCode).toBe(200);
  });

  it.each([
    'application/json',
    'APPLICATION/JSON',
    'application/json;charset=utf-8',
    'application/json; charset="UTF-8"',
    'application/problem+json',
  ])('accepts a lookup whose content-type is "%s"', async (type) => {
    const response = await post('{"entities":[{"customer_id":"C1"}]}', { 'Content-Type': type });
    expect(response.statusCode).toBe(200);
  });

  it('names the allowed method in an Allow header on 405', async () => {
    const onLookup = await handleRequest(
      { method: 'GET', path: '/v1/feature-views/profile' },
      deps,
    );
    expect(onLookup.statusCode).toBe(405);
    expect(onLookup.headers.allow).toBe('POST');
    const onHealth = await handleRequest({ method: 'DELETE', path: '/v1/health' }, deps);
    expect(onHealth.headers.allow).toBe('GET');
    expect(onHealth.headers['content-type']).toBe('application/json');
  });

  it('documents every error status with the error schema in the OpenAPI document', async () => {
    const document = JSON.parse(
      (await handleRequest({ method: 'GET', path: '/v1/openapi.json' }, deps)).body,
    );
    const operations = Object.values(document.paths).flatMap((p) => Object.values(p as object));
    for (const operation of operations as { responses: Record<string, unknown> }[]) {
      for (const status of ['400', '405', '408', '413', '417', '421', '431', '500'])
        expect(operation.responses[status], status).toMatchObject({
          content: {
            'application/json': { schema: { required: ['error'] } },
          },
        });
    }
    const lookup = document.paths['/v1/features/{service}'].post.responses;
    for (const status of ['404', '415', '503']) expect(lookup[status], status).toBeDefined();
    expect(lookup['405'].headers.Allow).toBeDefined();
  });

  it('answers 415 through the Lambda handler too, from the API Gateway headers', async () => {
    const handler = createLookupHandler({
      registry,
      client: {} as never,
      config: readLookupConfig({ TABLE_NAME: 'unused' }),
    });
    const response = await handler(
      {
        rawPath: '/v1/feature-views/profile',
        headers: { 'content-type': 'text/plain' },
        body: '{"entities":[{"customer_id":"C1"}]}',
        isBase64Encoded: false,
        requestContext: { http: { method: 'POST' } },
      },
      localLambdaContext,
    );
    expect(response.statusCode).toBe(415);
  });
});

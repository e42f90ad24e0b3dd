import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ApiDependencies, handleRequest } from '../../../lib/api/handle-request.ts';
import { OnlineStoreUnavailableError } from '../../../lib/online/online-lookup.ts';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { fetchedLookupOf } from '../../helpers/fetched-lookup.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const valueFor = (entity: Record<string, unknown>, feature: string) =>
  `${String(entity.customer_id)}/${feature}`;
const registry = compileRegistry(await loadDefinitions(`${repoRoot}/feature-defs`));
const calls: unknown[] = [];
const deps = (overrides: Partial<ApiDependencies> = {}): ApiDependencies => ({
  registry,
  limits: { maxEntities: 1000, maxBodyBytes: 262_144 },
  lookup: async (request) => {
    calls.push(request);
    // Every value names its entity and feature, so a result paired with the wrong entity shows.
    return fetchedLookupOf(registry, request, (entity, selection) => ({
      event_ts: { N: '1772323200000000' },
      f: {
        M: Object.fromEntries(
          selection.features.map((f) => [f.feature, { S: valueFor(entity, f.outputName) }]),
        ),
      },
    }));
  },
  health: async () => true,
  ...overrides,
});
const post = (path: string, body: unknown, d = deps()) =>
  handleRequest(
    { method: 'POST', path, body: typeof body === 'string' ? body : JSON.stringify(body) },
    d,
  );
const parse = (response: { body: string }) => JSON.parse(response.body);

describe('lookup API', () => {
  it('answers a service lookup with one result per entity in request order, each with its own values', async () => {
    const entities = [{ customer_id: 'C2' }, { customer_id: 'C1' }, { customer_id: 'C3' }];
    const response = await post('/v1/features/churn_online', { entities });
    expect(response.statusCode).toBe(200);
    const body = parse(response);
    const features = [
      'plan',
      'monthly_charges',
      'tenure_months',
      'contract_type',
      'last_order_amount',
    ];
    expect(
      body.results.map((r: { entity: unknown; features: Record<string, { value: unknown }> }) => ({
        entity: r.entity,
        features: Object.fromEntries(
          Object.entries(r.features).map(([name, f]) => [name, f.value]),
        ),
      })),
    ).toEqual(
      entities.map((entity) => ({
        entity,
        features: Object.fromEntries(features.map((f) => [f, valueFor(entity, f)])),
      })),
    );
  });

  it('narrows to the requested features and asks the store only for their views', async () => {
    calls.length = 0;
    const response = await post('/v1/features/churn_online', {
      entities: [{ customer_id: 'C1' }],
      features: ['contract_type'],
    });
    expect(Object.keys(parse(response).results[0].features)).toEqual(['contract_type']);
    expect(calls).toEqual([
      {
        views: [
          {
            view: 'customer_contract',
            features: [{ feature: 'contract_type', outputName: 'contract_type' }],
          },
        ],
        entities: [{ customer_id: 'C1' }],
      },
    ]);
  });

  it("answers a view lookup with that view's features, each entity with its own values", async () => {
    const response = await post('/v1/feature-views/last_order', {
      entities: [{ customer_id: 'C1' }, { customer_id: 'C2' }],
    });
    expect(response.statusCode).toBe(200);
    const results = parse(response).results;
    expect(Object.keys(results[0].features)).toEqual(['amount', 'category']);
    expect(
      results.map(
        (r: { entity: { customer_id: string }; features: { amount: { value: unknown } } }) => [
          r.entity.customer_id,
          r.features.amount.value,
        ],
      ),
    ).toEqual([
      ['C1', 'C1/amount'],
      ['C2', 'C2/amount'],
    ]);
  });

  it.each([
    ['not JSON', '{nope', 400, 'INVALID_JSON', '$'],
    ['JSON but not an object', '[1,2]', 400, 'INVALID_REQUEST', '$'],
    ['missing entities', {}, 400, 'INVALID_REQUEST', '$.entities'],
    ['an empty entity list', { entities: [] }, 400, 'INVALID_REQUEST', '$.entities'],
    [
      'a missing join key',
      { entities: [{ customer_id: 'C1' }, {}] },
      400,
      'MISSING_JOIN_KEY',
      '$.entities[1].customer_id',
    ],
    [
      'an extra unknown key',
      { entities: [{ customer_id: 'C1', region: 'x' }] },
      400,
      'UNKNOWN_KEY',
      '$.entities[0].region',
    ],
    [
      'a number for a string key',
      { entities: [{ customer_id: 7 }] },
      400,
      'INVALID_JOIN_KEY',
      '$.entities[0].customer_id',
    ],
    [
      'an unknown feature',
      { entities: [{ customer_id: 'C1' }], features: ['plan', 'height'] },
      400,
      'UNKNOWN_FEATURE',
      '$.features[1]',
    ],
    [
      'an object as entity value',
      { entities: [{ customer_id: { a: 1 } }] },
      400,
      'INVALID_REQUEST',
      '$.entities[0].customer_id',
    ],
    [
      'an unknown top-level key',
      { entities: [{ customer_id: 'C1' }], limit: 3 },
      400,
      'UNKNOWN_KEY',
      '$.limit',
    ],
    [
      'entities that are not a list',
      { entities: { customer_id: 'C1' } },
      400,
      'INVALID_REQUEST',
      '$.entities',
    ],
    [
      'a feature name that is not a string',
      { entities: [{ customer_id: 'C1' }], features: ['plan', 3] },
      400,
      'INVALID_REQUEST',
      '$.features[1]',
    ],
    [
      'an empty feature list',
      { entities: [{ customer_id: 'C1' }], features: [] },
      400,
      'INVALID_REQUEST',
      '$.features',
    ],
  ])('rejects %s with a 4xx and the JSON path', async (_, body, status, code, path) => {
    const response = await post('/v1/features/churn_online', body);
    expect(response.statusCode).toBe(status);
    expect(parse(response).error).toMatchObject({ code, details: { path } });
    expect(parse(response).error.message).toContain(path);
  });

  it.each([
    ['[1,2]', '$: must be an object with an "entities" list, got an array'],
    ['{}', '$.entities: is required'],
    ['{"entities":"C1"}', '$.entities: must be a list, got the string "C1"'],
    ['{"entities":[]}', '$.entities: must list at least one entity'],
    ['{"entities":[7]}', '$.entities[0]: must be an object of join keys, got the number 7'],
    [
      '{"entities":[{"customer_id":{"a":1}}]}',
      '$.entities[0].customer_id: must be a string, a number or a boolean, got an object',
    ],
    [
      '{"entities":[{"customer_id":"C1"}],"features":[null]}',
      '$.features[0]: must be a string, got null',
    ],
    [
      '{"entities":[{"customer_id":"C1"}],"features":[]}',
      '$.features: must name at least one feature when given',
    ],
    [
      '{"entities":[{"customer_id":"C1"}],"limit":3}',
      '$.limit: "limit" is not an accepted key; accepted: entities, features',
    ],
  ])(
    'says what is wrong with %s in its own words, not a generic "Invalid input"',
    async (body, message) => {
      expect(parse(await post('/v1/features/churn_online', body)).error.message).toBe(message);
    },
  );

  it('rejects more entities than the limit with 413 and the limit', async () => {
    const response = await post(
      '/v1/features/churn_online',
      { entities: Array.from({ length: 11 }, (_, i) => ({ customer_id: `C${i}` })) },
      deps({ limits: { maxEntities: 10, maxBodyBytes: 262_144 } }),
    );
    expect(response.statusCode).toBe(413);
    expect(parse(response).error).toMatchObject({
      code: 'TOO_MANY_ENTITIES',
      details: { limit: 10 },
    });
  });

  it('rejects an oversized body with 413', async () => {
    const response = await post(
      '/v1/features/churn_online',
      { entities: [{ customer_id: 'x'.repeat(2000) }] },
      deps({ limits: { maxEntities: 10, maxBodyBytes: 1000 } }),
    );
    expect(response.statusCode).toBe(413);
    expect(parse(response).error.code).toBe('BODY_TOO_LARGE');
  });

  it('answers 404 for unknown services and views, 400 for odd names, 405 for wrong methods', async () => {
    expect(
      (await post('/v1/features/churn_v9', { entities: [{ customer_id: 'C1' }] })).statusCode,
    ).toBe(404);
    expect(
      (await post('/v1/feature-views/nope', { entities: [{ customer_id: 'C1' }] })).statusCode,
    ).toBe(404);
    expect((await post('/v1/features/..%2F..%2Fetc', { entities: [] })).statusCode).toBe(400);
    expect((await post('/v1/features/Churn-V1', { entities: [] })).statusCode).toBe(400);
    expect(
      (await handleRequest({ method: 'GET', path: '/v1/features/churn_online' }, deps()))
        .statusCode,
    ).toBe(405);
    expect((await handleRequest({ method: 'GET', path: '/v2/anything' }, deps())).statusCode).toBe(
      404,
    );
  });

  it('answers 503 when the store stays unavailable, and 500 without internals only for a bug', async () => {
    const unavailable = await post(
      '/v1/features/churn_online',
      { entities: [{ customer_id: 'C1' }] },
      deps({
        lookup: async () => {
          throw new OnlineStoreUnavailableError('throttled', 'retry');
        },
      }),
    );
    expect(unavailable.statusCode).toBe(503);
    const logged: unknown[] = [];
    const bug = await post(
      '/v1/features/churn_online',
      { entities: [{ customer_id: 'C1' }] },
      deps({
        lookup: async () => {
          throw new TypeError('x is undefined');
        },
        onUnexpectedError: (e) => logged.push(e),
      }),
    );
    expect(bug.statusCode).toBe(500);
    expect(bug.body).not.toContain('x is undefined');
    expect(logged).toHaveLength(1);
  });

  it('serves the registry, health and an OpenAPI document generated from the schemas', async () => {
    const registryResponse = parse(
      await handleRequest({ method: 'GET', path: '/v1/registry' }, deps()),
    );
    expect(registryResponse.featureServices.map((s: { name: string }) => s.name)).toEqual([
      'churn_online',
      'churn_v1',
    ]);
    expect(registryResponse.featureViews[0].features[0]).toHaveProperty('type');
    expect(registryResponse.lineage.edges).toContainEqual({
      from: 'feature:last_order.amount',
      to: 'featureService:churn_online',
      relation: 'serves as churn_online.last_order_amount',
    });
    expect(parse(await handleRequest({ method: 'GET', path: '/v1/health' }, deps()))).toEqual({
      status: 'ok',
      registryVersion: registry.version,
    });
    const openapi = parse(await handleRequest({ method: 'GET', path: '/v1/openapi.json' }, deps()));
    expect(openapi.openapi).toBe('3.1.0');
    expect(
      openapi.paths['/v1/features/{service}'].post.requestBody.content['application/json'].schema
        .required,
    ).toEqual(['entities']);
  });

  it('never answers 500 and always returns the documented shape for random bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc
            .record({
              entities: fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 5 }),
            })
            .map((v) => JSON.stringify(v)),
        ),
        async (body) => {
          const response = await post('/v1/features/churn_online', body);
          expect([200, 400, 413]).toContain(response.statusCode);
          const parsed = parse(response);
          if (response.statusCode === 200) expect(Array.isArray(parsed.results)).toBe(true);
          else
            expect(parsed.error).toEqual({
              code: expect.any(String),
              message: expect.any(String),
              details: expect.any(Object),
            });
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});

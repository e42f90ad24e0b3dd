import { describe, expect, it } from 'vitest';
import { type ApiDependencies, handleRequest } from '../../../lib/api/handle-request.ts';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import type { LookupRequest } from '../../../lib/online/online-lookup.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { lookupRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { fetchedLookupOf } from '../../helpers/fetched-lookup.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: { customer_id: 'string', monthly: 'float64', plan: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [customer],
  source: profiles,
  features: { monthly: 'float64', plan: 'string' },
  online: true,
  schedule: 'rate(1 hour)',
});
const spendRatio = defineOnDemandView({
  name: 'spend_ratio',
  request: { basket: 'float64', coupon: 'bool' },
  inputs: [profile.select(['monthly'])],
  features: { ratio: 'float64', big: { type: 'bool', nullable: false } },
  transform: (row) => {
    if (row.basket === 13) throw new Error('unlucky basket');
    return {
      ratio: row.monthly === null ? null : row.basket / row.monthly,
      // A wrong type on purpose for one basket: the output check must catch it.
      big: row.basket === 7 ? 'yes' : row.basket > 100 || row.coupon,
    };
  },
});
const checkout = defineFeatureService({
  name: 'checkout',
  features: [profile.select(['plan']), spendRatio],
});
const registry = lookupRegistryProjection(compileRegistry([{ definition: checkout }]));

/** monthly is 50 for every customer except NONE, which has no profile item. */
const reads: LookupRequest[] = [];
const deps: ApiDependencies = {
  registry,
  limits: { maxEntities: 100, maxBodyBytes: 100_000 },
  lookup: async (request) => {
    reads.push(request);
    return fetchedLookupOf(registry as never, request, (entity) =>
      entity.customer_id === 'NONE'
        ? undefined
        : {
            event_ts: { N: '1772323200000000' },
            f: { M: { monthly: { N: '50' }, plan: { S: 'basic' } } },
          },
    );
  },
  health: async () => true,
};
const post = async (body: unknown) => {
  const response = await handleRequest(
    { method: 'POST', path: '/v1/features/checkout', body: JSON.stringify(body) },
    deps,
  );
  return { status: response.statusCode, json: JSON.parse(response.body) };
};

describe('a service lookup with an on-demand view', () => {
  it('runs the transform over the fetched inputs and each entity’s request values', async () => {
    reads.length = 0;
    const { status, json } = await post({
      entities: [
        { customer_id: 'C1', basket: 120.5, coupon: false },
        { customer_id: 'NONE', basket: 20, coupon: true },
      ],
    });
    expect(status).toBe(200);
    expect(json.results[0]).toEqual({
      entity: { customer_id: 'C1' },
      features: {
        plan: { value: 'basic', status: 'PRESENT', event_timestamp: '2026-03-01T00:00:00.000000Z' },
        ratio: { value: 120.5 / 50, status: 'PRESENT', event_timestamp: null },
        big: { value: true, status: 'PRESENT', event_timestamp: null },
      },
    });
    expect(json.results[1].features.ratio).toEqual({
      value: null,
      status: 'NULL_VALUE',
      event_timestamp: null,
    });
    expect(json.results[1].features.big.value).toBe(true);
    // The input view is read once, its input under a name no answer shows.
    expect(reads[0]?.views.map((v) => v.view)).toEqual(['profile']);
  });

  it('fetches the inputs’ views even when only on-demand features are asked for', async () => {
    reads.length = 0;
    const { json } = await post({
      entities: [{ customer_id: 'C1', basket: 10, coupon: false }],
      features: ['ratio'],
    });
    expect(Object.keys(json.results[0].features)).toEqual(['ratio']);
    expect(json.results[0].features.ratio.value).toBe(0.2);
    expect(reads[0]?.views[0]?.features.map((f) => f.feature)).toEqual(['monthly']);
  });

  it.each([
    [13, 'transform threw: unlucky basket'],
    [7, 'feature "big" (bool) must be true or false, got "yes"'],
  ])(
    'answers TRANSFORM_ERROR for the entity whose basket is %s, serving the others',
    async (basket, message) => {
      const { status, json } = await post({
        entities: [
          { customer_id: 'C1', basket, coupon: false },
          { customer_id: 'C2', basket: 200, coupon: false },
        ],
      });
      expect(status).toBe(200);
      expect(json.results[0].features.ratio).toEqual({
        value: null,
        status: 'TRANSFORM_ERROR',
        event_timestamp: null,
        error: `spend_ratio: ${message}`,
      });
      expect(json.results[0].features.plan.status).toBe('PRESENT');
      expect(json.results[1].features.big).toMatchObject({ value: true, status: 'PRESENT' });
    },
  );

  it.each([
    [{ customer_id: 'C1', coupon: true }, 'MISSING_REQUEST_VALUE', '$.entities[1].basket'],
    [
      { customer_id: 'C1', basket: '12', coupon: true },
      'INVALID_REQUEST_VALUE',
      '$.entities[1].basket',
    ],
    [
      { customer_id: 'C1', basket: 12, coupon: 'no' },
      'INVALID_REQUEST_VALUE',
      '$.entities[1].coupon',
    ],
    [
      { customer_id: 'C1', basket: 12, coupon: true, extra: 1 },
      'UNKNOWN_KEY',
      '$.entities[1].extra',
    ],
  ])(
    'refuses a bad request value with a 400 naming the entity and field: %j',
    async (bad, code, path) => {
      reads.length = 0;
      const { status, json } = await post({
        entities: [{ customer_id: 'C0', basket: 1, coupon: false }, bad],
      });
      expect(status).toBe(400);
      expect(json.error.code).toBe(code);
      expect(json.error.details.path).toBe(path);
      expect(json.error.message).toContain(path);
      expect(reads).toEqual([]);
    },
  );
});

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lookupResponseJson } from '../../../lib/api/lookup-response-json.ts';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import type { Item, LookupRequest } from '../../../lib/online/lookup-plan.ts';
import { featureResults } from '../../../lib/online/online-lookup.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { fetchedLookupOf } from '../../helpers/fetched-lookup.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const features = {
  name: 'string',
  score: 'float64',
  visits: 'int64',
  level: 'int32',
  active: 'bool',
  seen_at: 'timestamp',
  tags: 'list<string>',
  weights: 'list<float64>',
} as const;
const registry = compileRegistry([
  {
    definition: defineFeatureView({
      name: 'profile',
      entities: [customer],
      source: defineSource({
        name: 'profiles',
        schema: { customer_id: 'string', ...features, event_ts: 'timestamp' },
        timestampField: 'event_ts',
      }),
      features,
      ttl: '1d',
      online: true,
      schedule: 'rate(1 hour)',
    }),
  },
  {
    definition: defineAggregationView({
      name: 'order_stats',
      entities: [customer],
      source: defineSource({
        name: 'orders',
        schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
        timestampField: 'event_ts',
      }),
      aggregations: { amount: { functions: ['count', 'sum'], windows: ['7d'] } },
    }),
  },
]);
const profileFeatures = Object.keys(features);
const statsFeatures =
  registry.featureViews.find((v) => v.name === 'order_stats')?.features.map((f) => f.name) ?? [];
const now = 1_772_323_200_000_000n;
const day = 86_400_000_000n;

/** Short text, with characters JSON escapes (quotes, controls, U+2028, a lone surrogate). */
const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('"\\', '\u2028\u0000\n', 'é😀', '\ud800x'),
);

const numberText = fc.oneof(
  fc.double().filter(Number.isFinite).map(String),
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  fc.constantFrom('1.50', '-0', '007', '1e5', '0.0000001', '123456789012345678', '-0.5'),
);
const attribute: fc.Arbitrary<AttributeValue | undefined> = fc.oneof(
  numberText.map((N) => ({ N })),
  text.map((S) => ({ S })),
  fc.boolean().map((BOOL) => ({ BOOL })),
  fc.constant({ NULL: true as const }),
  fc
    .array(
      fc.oneof(
        numberText.map((N) => ({ N })),
        fc.constant({ NULL: true as const }),
      ),
      {
        maxLength: 3,
      },
    )
    .map((L) => ({ L })),
  fc.constant({ M: {} }),
  fc.constant(undefined),
);
/** An item (or none) of a view: its event time is up to two days old, so some are past the TTL. */
const item = (names: readonly string[]): fc.Arbitrary<Item | undefined> =>
  fc.option(
    fc
      .tuple(
        fc.bigInt({ min: 0n, max: 2n * day }),
        fc.array(attribute, { minLength: names.length, maxLength: names.length }),
      )
      .map(([age, values]) => ({
        event_ts: { N: String(now - age) },
        f: {
          M: Object.fromEntries(
            names.flatMap((name, i) => (values[i] === undefined ? [] : [[name, values[i]]])),
          ) as Record<string, AttributeValue>,
        },
      })),
  );
/** A request for some features of both views (any order, some under an alias), with its items. */
const lookup = fc
  .tuple(
    fc.subarray(profileFeatures, { minLength: 1 }),
    fc.subarray(statsFeatures),
    fc.boolean(),
    fc.array(fc.tuple(item(profileFeatures), item(statsFeatures)), { maxLength: 5 }),
  )
  .map(([profile, stats, alias, items]) => {
    const request: LookupRequest = {
      views: [
        {
          view: 'profile',
          features: profile.map((f) => ({ feature: f, outputName: alias ? `p_${f}` : f })),
        },
        ...(stats.length > 0
          ? [{ view: 'order_stats', features: stats.map((f) => ({ feature: f, outputName: f })) }]
          : []),
      ],
      entities: items.map((_, i) => ({ customer_id: `C"${i}\u2028` })),
    };
    return fetchedLookupOf(
      registry,
      request,
      (entity, selection) => {
        const pair = items[request.entities.indexOf(entity)];
        return selection.view === 'profile' ? pair?.[0] : pair?.[1];
      },
      now,
    );
  });

describe('lookup answer as JSON text', () => {
  it('writes exactly what JSON.stringify makes of the answer built as objects, for any items', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('service' as const, 'view' as const),
        fc.string(),
        lookup,
        (kind, name, fetched) => {
          const { body } = lookupResponseJson({ kind, name }, fetched);
          expect(body).toBe(
            JSON.stringify({
              [kind]: name,
              results: featureResults(fetched).map((features, i) => ({
                entity: fetched.entities[i],
                features,
              })),
            }),
          );
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });

  it('counts entities, features and each status that is not PRESENT, for metrics', () => {
    const request: LookupRequest = {
      views: [
        {
          view: 'profile',
          features: [
            { feature: 'score', outputName: 'score' },
            { feature: 'name', outputName: 'name' },
          ],
        },
        { view: 'order_stats', features: [{ feature: 'amount_count_7d', outputName: 'n' }] },
      ],
      entities: [{ customer_id: 'fresh' }, { customer_id: 'stale' }, { customer_id: 'none' }],
    };
    const items: Record<string, Item> = {
      'fresh/profile': { event_ts: { N: String(now) }, f: { M: { score: { N: '1' } } } },
      'stale/profile': { event_ts: { N: String(now - 2n * day) }, f: { M: {} } },
      'fresh/order_stats': {
        event_ts: { N: String(now) },
        f: { M: { amount_count_7d: { N: '4' } } },
      },
    };
    const fetched = fetchedLookupOf(
      registry,
      request,
      (entity, selection) => items[`${entity.customer_id}/${selection.view}`],
      now,
    );
    const { body, stats } = lookupResponseJson({ kind: 'service', name: 's' }, fetched);
    expect(stats).toEqual({
      entities: 3,
      features: 9,
      notFound: 4,
      outsideTtl: 2,
      nullValues: 1,
    });
    // A count with no item is 0, not null.
    expect(JSON.parse(body).results[2].features.n).toEqual({
      value: 0,
      status: 'NOT_FOUND',
      event_timestamp: null,
    });
  });

  it('writes an empty result list for no entities', () => {
    const fetched = fetchedLookupOf(registry, { views: [], entities: [] }, () => undefined);
    expect(lookupResponseJson({ kind: 'view', name: 'v' }, fetched).body).toBe(
      '{"view":"v","results":[]}',
    );
  });
});

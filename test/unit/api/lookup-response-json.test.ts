import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lookupResponseJson } from '../../../lib/api/lookup-response-json.ts';
import type { FeatureResult } from '../../../lib/online/online-lookup.ts';

const statuses = ['PRESENT', 'NOT_FOUND', 'OUTSIDE_TTL', 'NULL_VALUE'] as const;

const featureResult: fc.Arbitrary<FeatureResult> = fc.record({
  value: fc.oneof(
    fc.jsonValue(),
    fc.double(),
    fc.constantFrom(undefined, Number.NaN, Number.POSITIVE_INFINITY, -0, true, false, null),
    fc.array(fc.oneof(fc.string(), fc.double(), fc.constant(null)), { maxLength: 3 }),
    fc.string({ unit: 'binary' }),
  ),
  status: fc.constantFrom(...statuses),
  event_timestamp: fc.oneof(fc.constant(null), fc.string()),
});

/** Results whose features of one entity often share status and timestamp, as items do. */
const results = fc
  .array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 6 })
  .chain((names) =>
    fc.array(
      fc
        .tuple(
          fc.array(featureResult, { minLength: names.length, maxLength: names.length }),
          fc.boolean(),
        )
        .map(([features, shared]) =>
          Object.fromEntries(
            names.map((name, i) => {
              const feature = features[i] as FeatureResult;
              const like = features[0] as FeatureResult;
              return [
                name,
                shared
                  ? {
                      value: feature.value,
                      status: like.status,
                      event_timestamp: like.event_timestamp,
                    }
                  : feature,
              ];
            }),
          ),
        ),
      { maxLength: 5 },
    ),
  );

const entity = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string(), fc.double()), {
  maxKeys: 2,
});

describe('lookup answer as JSON text', () => {
  it('writes exactly what JSON.stringify makes of the answer, for any results', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('service' as const, 'view' as const),
        fc.string(),
        results,
        fc.array(entity, { minLength: 5, maxLength: 5 }),
        (kind, name, rows, entities) => {
          const { body } = lookupResponseJson({ kind, name }, entities, rows);
          expect(body).toBe(
            JSON.stringify({
              [kind]: name,
              results: rows.map((features, i) => ({ entity: entities[i], features })),
            }),
          );
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });

  it('counts entities, features and each status that is not PRESENT, for metrics', () => {
    const at = '2026-03-01T00:00:00.000000Z';
    const { stats } = lookupResponseJson(
      { kind: 'service', name: 's' },
      [{ id: 'a' }, { id: 'b' }],
      [
        {
          x: { value: 1, status: 'PRESENT', event_timestamp: at },
          y: { value: null, status: 'NULL_VALUE', event_timestamp: at },
          z: { value: null, status: 'OUTSIDE_TTL', event_timestamp: at },
        },
        {
          x: { value: null, status: 'NOT_FOUND', event_timestamp: null },
          y: { value: null, status: 'NOT_FOUND', event_timestamp: null },
          z: { value: 0, status: 'NOT_FOUND', event_timestamp: null },
        },
      ],
    );
    expect(stats).toEqual({
      entities: 2,
      features: 6,
      notFound: 3,
      outsideTtl: 1,
      nullValues: 1,
    });
  });

  it('writes an empty result list for no entities', () => {
    expect(lookupResponseJson({ kind: 'view', name: 'v' }, [], []).body).toBe(
      '{"view":"v","results":[]}',
    );
  });
});

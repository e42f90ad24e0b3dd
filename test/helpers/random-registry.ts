import fc from 'fast-check';
import { aggregationType } from '../../lib/definitions/aggregation-view.ts';
import {
  aggregationFunctions,
  defineAggregationView,
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
  type FeatureView,
  type JoinKeyType,
  valueTypes,
} from '../../lib/definitions/index.ts';
import { compileRegistry, type Registry } from '../../lib/registry/index.ts';

const joinKeyTypes: readonly JoinKeyType[] = ['string', 'int32', 'int64'];

const viewShape = fc.record({
  aggregation: fc.boolean(),
  columns: fc.array(fc.constantFrom(...valueTypes), { minLength: 1, maxLength: 4 }),
  created: fc.boolean(),
  nullable: fc.boolean(),
  bounds: fc.option(fc.tuple(fc.double({ min: -1e6, max: 0, noNaN: true }), fc.nat()), {
    nil: undefined,
  }),
  allowed: fc.option(fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 3 }), {
    nil: undefined,
  }),
  ttl: fc.option(fc.constantFrom('1h', '30d', '365d'), { nil: undefined }),
  online: fc.boolean(),
  functions: fc.subarray([...aggregationFunctions], { minLength: 1 }),
  windows: fc.subarray(['1h', '7d', '30d', '90d'], { minLength: 1 }),
  alias: fc.boolean(),
});

/** The shape of a random registry: one entity (1-2 join keys), 1-3 views, one service of all. */
export const registryShape = fc.record({
  joinKeys: fc.uniqueArray(
    fc.constantFrom(...joinKeyTypes.map((type, i): [string, JoinKeyType] => [`key_${i}`, type])),
    { minLength: 1, maxLength: 2, selector: ([name]) => name },
  ),
  views: fc.array(viewShape, { minLength: 1, maxLength: 3 }),
});

/**
 * A valid registry built from `shape` with the real define functions: views named `v<i>`, each
 * over its own source `s<i>` whose value columns are `v<i>_c<j>` (so no output names collide);
 * constraints, TTLs, created-time columns and aliases as drawn. Undefinable combinations (a sum
 * of a list, say) are left out, so a drawn view may lose functions or columns, and
 * a shape with no definable view gives undefined.
 */
export function buildRandomRegistry(shape: RegistryShape): Registry | undefined {
  const entity = defineEntity({
    name: 'thing',
    joinKeys: shape.joinKeys.map(([name, type]) => ({ name, type })),
  });
  const views: { view: FeatureView; alias: boolean }[] = [];
  shape.views.forEach((v, i) => {
    const columns = v.columns.map((type, j) => ({ name: `v${i}_c${j}`, type }));
    const source = defineSource({
      name: `s${i}`,
      schema: {
        ...Object.fromEntries(shape.joinKeys),
        ...Object.fromEntries(columns.map((c) => [c.name, c.type])),
        event_ts: 'timestamp',
        ...(v.created ? { created_ts: 'timestamp' } : {}),
      },
      timestampField: 'event_ts',
      ...(v.created ? { createdTimestampField: 'created_ts' } : {}),
    });
    const common = {
      name: `v${i}`,
      entities: [entity],
      source,
      online: v.online,
      ...(v.online ? { schedule: 'rate(1 hour)' } : {}),
    };
    if (v.aggregation) {
      const aggregations = Object.fromEntries(
        columns.flatMap((c) => {
          const functions = v.functions.filter((f) => aggregationType(f, c.type) !== undefined);
          return functions.length ? [[c.name, { functions, windows: v.windows }]] : [];
        }),
      );
      if (Object.keys(aggregations).length > 0)
        views.push({ view: defineAggregationView({ ...common, aggregations }), alias: false });
      return;
    }
    const [min, max] = v.bounds ?? [];
    views.push({
      alias: v.alias,
      view: defineFeatureView({
        ...common,
        ...(v.ttl ? { ttl: v.ttl } : {}),
        features: Object.fromEntries(
          columns.map((c) => [
            c.name,
            {
              type: c.type,
              nullable: v.nullable,
              ...(/^(int|float)/.test(c.type) && min !== undefined
                ? { min, max: min + (max ?? 0) }
                : {}),
              ...(c.type === 'string' && v.allowed
                ? { allowedValues: [...new Set(v.allowed)] }
                : {}),
            },
          ]),
        ),
      }),
    });
  });
  if (views.length === 0) return undefined;
  const service = defineFeatureService({
    name: 'svc',
    features: views.map(({ view, alias }) =>
      alias
        ? view.select(view.features.map((f) => ({ feature: f.name, alias: `${f.name}_as` })))
        : view,
    ),
  });
  const defined = views.map((v) => v.view);
  return compileRegistry(
    [entity, ...defined.map((v) => v.source), ...defined, service].map((definition) => ({
      definition,
    })),
  );
}

export type RegistryShape = typeof registryShape extends fc.Arbitrary<infer T> ? T : never;

import { describe, expect, it } from 'vitest';
import { type ApiDependencies, handleRequest } from '../../../lib/api/handle-request.ts';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { encodeValue } from '../../../lib/online/item-codec.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { lookupRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { fetchedLookupOf } from '../../helpers/fetched-lookup.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const levels = defineSource({
  name: 'levels',
  schema: { customer_id: 'string', level: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const level = defineFeatureView({
  name: 'level',
  entities: [customer],
  source: levels,
  features: { level: 'float64' },
  online: true,
  schedule: 'rate(1 hour)',
});
const scaled = defineOnDemandView({
  name: 'scaled',
  request: { factor: 'float64' },
  inputs: [level.select(['level'])],
  features: { scaled: 'float64', scaled32: 'float32' },
  transform: (row) => ({
    scaled: row.level === null ? null : row.level * row.factor,
    scaled32: row.level === null ? null : row.level * row.factor,
  }),
});
const service = defineFeatureService({ name: 'zeros', features: [level.select(), scaled] });
const registry = lookupRegistryProjection(compileRegistry([{ definition: service }]));

/** The stored level of every customer is -0, as the online writer stores it. */
const deps: ApiDependencies = {
  registry,
  limits: { maxEntities: 10, maxBodyBytes: 10_000 },
  lookup: async (request) =>
    fetchedLookupOf(registry as never, request, () => ({
      event_ts: { N: '1772323200000000' },
      f: { M: { level: encodeValue('float64', -0, 'level') } },
    })),
  health: async () => true,
};

describe('negative zero in a lookup with on-demand features', () => {
  it('answers -0 where the transform gives -0, as a training set’s Parquet keeps it', async () => {
    const response = await handleRequest(
      {
        method: 'POST',
        path: '/v1/features/zeros',
        body: '{"entities":[{"customer_id":"C1","factor":2},{"customer_id":"C2","factor":-2}]}',
      },
      deps,
    );
    expect(response.statusCode).toBe(200);
    const results = JSON.parse(response.body).results as {
      features: Record<string, { value: unknown }>;
    }[];
    const values = results.map((r) => [
      r.features.level?.value,
      r.features.scaled?.value,
      r.features.scaled32?.value,
    ]);
    // -0 * 2 is -0 and -0 * -2 is 0: the sign is the transform's, not lost on the way.
    expect(values.map((row) => row.map((v) => Object.is(v, -0)))).toEqual([
      [true, true, true],
      [true, false, false],
    ]);
    expect(values[1]?.slice(1)).toEqual([0, 0]);
  });
});

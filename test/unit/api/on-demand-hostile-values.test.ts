import { describe, expect, it } from 'vitest';
import { type ApiDependencies, handleRequest } from '../../../lib/api/handle-request.ts';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { lookupRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { fetchedLookupOf } from '../../helpers/fetched-lookup.ts';
import { onlineMonthlyProfile } from '../../helpers/monthly-profile.ts';

const { profile } = onlineMonthlyProfile();
const scaled = defineOnDemandView({
  name: 'rev_scaled',
  request: { factor: 'float64' },
  inputs: [profile.select(['monthly'])],
  features: { scaled: 'float32' },
  transform: (row) => {
    // An author's bug reached by one request value: a non-Error throw.
    if (row.factor === 13) throw Object.create(null);
    return { scaled: row.monthly === null ? null : row.monthly * row.factor };
  },
});
const svc = defineFeatureService({ name: 'rev_svc', features: [scaled] });
const registry = lookupRegistryProjection(compileRegistry([{ definition: svc }]));
const deps: ApiDependencies = {
  registry,
  limits: { maxEntities: 100, maxBodyBytes: 100_000 },
  lookup: async (request) =>
    fetchedLookupOf(registry as never, request, () => ({
      event_ts: { N: '1772323200000000' },
      f: { M: { monthly: { N: '50' } } },
    })),
  health: async () => true,
};
const post = async (body: unknown) => {
  const response = await handleRequest(
    { method: 'POST', path: '/v1/features/rev_svc', body: JSON.stringify(body) },
    deps,
  );
  return { status: response.statusCode, json: JSON.parse(response.body) };
};

describe('on-demand lookups under hostile request values', () => {
  it('a request value that makes the transform throw a non-Error gives that entity TRANSFORM_ERROR, not a 500 for the batch', async () => {
    const { status, json } = await post({
      entities: [
        { customer_id: 'C1', factor: 2 },
        { customer_id: 'C2', factor: 13 },
      ],
    });
    expect(status).toBe(200);
    expect(json.results[0].features.scaled.value).toBe(100);
    expect(json.results[1].features.scaled.status).toBe('TRANSFORM_ERROR');
  });

  it('a float32 output beyond float32 range is never served as PRESENT with value null', async () => {
    // 50 * 1e37 = 5e38 is a finite float64 but overflows float32 (max ~3.4e38).
    const { status, json } = await post({ entities: [{ customer_id: 'C1', factor: 1e37 }] });
    expect(status).toBe(200);
    expect(json.results[0].features.scaled.status).toBe('TRANSFORM_ERROR');
  });
});

import { describe, expect, it } from 'vitest';
import { type ApiDependencies, handleRequest } from '../../../lib/api/handle-request.ts';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { Deadline } from '../../../lib/online/dynamodb-batch-get/deadline.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { lookupRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { fetchedLookupOf } from '../../helpers/fetched-lookup.ts';
import { onlineMonthlyProfile } from '../../helpers/monthly-profile.ts';

/** A test clock each transform call moves on, standing for a transform that takes 60 ms. */
let clockMs = 0;
let transformCalls = 0;

const { profile } = onlineMonthlyProfile();
const series = defineOnDemandView({
  name: 'slow_series',
  request: { months: 'int64' },
  inputs: [profile.select(['monthly'])],
  features: { total: 'float64' },
  transform: (row) => {
    transformCalls += 1;
    clockMs += 60;
    return { total: row.monthly === null ? null : row.monthly * row.months };
  },
});
const svc = defineFeatureService({ name: 'slow_series_svc', features: [series] });
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
const entities = Array.from({ length: 20 }, (_, i) => ({ customer_id: `C${i}`, months: 3 }));
const lookUp = (budgetMs: number) => {
  clockMs = 0;
  transformCalls = 0;
  return handleRequest(
    {
      method: 'POST',
      path: '/v1/features/slow_series_svc',
      body: JSON.stringify({ entities }),
      deadline: Deadline.after(budgetMs, { now: () => clockMs }),
    },
    deps,
  );
};

describe('on-demand transforms under the lookup deadline', () => {
  it('stop between entities once the deadline has passed: 503 DEADLINE_EXCEEDED, the rest not run', async () => {
    const response = await lookUp(100);
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body).error.code).toBe('DEADLINE_EXCEEDED');
    expect(transformCalls).toBe(2);
  });

  it('blame the transforms, not the online store, in the 503 message', async () => {
    const { error } = JSON.parse((await lookUp(100)).body);
    expect(error.message).toMatch(/on-demand transforms did not finish in time/);
    expect(error.message).not.toMatch(/online store/);
  });

  it('all run when the deadline leaves them time', async () => {
    const response = await lookUp(20 * 60 + 1);
    expect(response.statusCode).toBe(200);
    expect(transformCalls).toBe(20);
    expect(JSON.parse(response.body).results[19].features.total.value).toBe(150);
  });
});

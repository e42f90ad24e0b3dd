import { describe, expect, it } from 'vitest';
import { handleRequest } from '../../../lib/api/handle-request.ts';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { planRegistryChanges } from '../../../lib/registry/plan.ts';
import { lookupRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { fetchedLookupOf } from '../../helpers/fetched-lookup.ts';
import { onlineMonthlyProfile } from '../../helpers/monthly-profile.ts';

const { profile } = onlineMonthlyProfile();

function registryWith(request: Record<string, 'float64' | 'bool'>) {
  const ratio = defineOnDemandView({
    name: 'rev_plan_ratio',
    request,
    inputs: [profile.select(['monthly'])],
    features: { ratio: 'float64' },
    transform: (row) => ({ ratio: row.monthly ? row.basket / row.monthly : null }),
  });
  return compileRegistry([
    { definition: defineFeatureService({ name: 'checkout', features: [ratio] }) },
  ]);
}

describe('fstore plan: removing a request field of a served on-demand view', () => {
  it('is not reported safe while the lookup after it answers 400 to callers that still send the field', async () => {
    const before = registryWith({ basket: 'float64', coupon: 'bool' });
    const after = registryWith({ basket: 'float64' });
    const change = planRegistryChanges(before, after).changes[0]?.fields.find(
      (f) => f.field === 'request.coupon',
    );
    // The deployed lookup, after the "safe" change, with a body an existing caller sends:
    const registry = lookupRegistryProjection(after);
    const response = await handleRequest(
      {
        method: 'POST',
        path: '/v1/features/checkout',
        body: JSON.stringify({ entities: [{ customer_id: 'C1', basket: 10, coupon: true }] }),
      },
      {
        registry,
        limits: { maxEntities: 100, maxBodyBytes: 100_000 },
        lookup: async (request) =>
          fetchedLookupOf(registry as never, request, () => ({
            event_ts: { N: '1772323200000000' },
            f: { M: { monthly: { N: '50' } } },
          })),
        health: async () => true,
      },
    );
    expect({ level: change?.level, status: response.statusCode }).not.toEqual({
      level: 'safe',
      status: 400,
    });
  });

  it('is reported breaking, naming the services whose callers still send it', () => {
    const change = planRegistryChanges(
      registryWith({ basket: 'float64', coupon: 'bool' }),
      registryWith({ basket: 'float64' }),
    ).changes[0]?.fields.find((f) => f.field === 'request.coupon');
    expect(change).toMatchObject({ action: 'remove', level: 'breaking' });
    expect(change?.reason).toContain('"checkout"');
  });
});

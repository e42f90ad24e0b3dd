import { type ApiDependencies, handleRequest } from '../../lib/api/handle-request.ts';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandView,
  defineSource,
} from '../../lib/definitions/index.ts';
import type { LookupRequest } from '../../lib/online/online-lookup.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { lookupRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { fetchedLookupOf } from './fetched-lookup.ts';

/**
 * The lookup API over service `checkout`: the profile view's `plan` and the on-demand view
 * `spend_ratio` (basket / monthly, with request values basket and coupon; it throws for basket
 * 13 and answers a wrong type for basket 7). `post` sends a body to it; `reads` records what
 * each request read from the online store. Each call is a new API.
 */
export function spendRatioCheckout() {
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
  return { reads, post };
}

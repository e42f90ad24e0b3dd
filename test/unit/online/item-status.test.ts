import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Item, itemState, itemStatus, planLookup } from '../../../lib/online/lookup-plan.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

const { registry } = onlineRegistry();
const plans = planLookup(registry, {
  entities: [{ customer_id: 'C1' }],
  views: registry.featureViews
    .filter((v) => v.online)
    .map((v) => ({
      view: v.name,
      features: [{ feature: v.features[0]?.name ?? '', outputName: `${v.name}_0` }],
    })),
}).views.map((v) => v.plan);
const now = 1_772_323_200_000_000n;
const day = 86_400_000_000n;

describe('itemStatus (an on-demand input needs the status only)', () => {
  it('gives the status itemState gives, for items of any age, without and with TTL', () => {
    expect(plans.some((p) => p.ttlMicros !== undefined)).toBe(true);
    fc.assert(
      fc.property(
        fc.constantFrom(...plans),
        fc.option(
          fc
            .option(fc.bigInt({ min: -day, max: 400n * day }), { nil: undefined })
            .map((age): Item => (age === undefined ? {} : { event_ts: { N: String(now - age) } })),
          { nil: undefined },
        ),
        (plan, item) => {
          expect(itemStatus(plan, item, now)).toBe(itemState(plan, item, now).status);
        },
      ),
      { numRuns: 500, seed: 18 },
    );
  });
});

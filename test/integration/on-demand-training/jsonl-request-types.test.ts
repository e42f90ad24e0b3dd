import { describe, expect, it } from 'vitest';
import { requestValues } from '../../../lib/api/on-demand-lookup.ts';
import { OnDemandRowError } from '../../../lib/offline/on-demand-columns.ts';
import { planOnDemand } from '../../../lib/on-demand/plan-on-demand.ts';
import { at, echoFixture } from '../../helpers/on-demand-echo-fixture.ts';

const good = { amount: 1.5, coupon: 'a', flag: true, qty: 3 };

// A JSON-lines entity file carries JSON types, as a lookup body does; the training set casts
// every request column to text and re-parses it, so values a lookup refuses with a 400 pass.
describe('request values in a JSON-lines entity file are typed as a lookup types them', () => {
  it.each([
    ['an object for a string field', { coupon: { x: 1 } }, 'coupon'],
    ['an array for a string field', { coupon: [1, 2] }, 'coupon'],
    ['a number for a string field', { coupon: 7 }, 'coupon'],
    ['a boolean for a string field', { coupon: true }, 'coupon'],
    ['a string for a float64 field', { amount: '5' }, 'amount'],
    ['a string for an int64 field', { qty: '3' }, 'qty'],
    ['a string for a bool field', { flag: 'true' }, 'flag'],
  ])(
    'refuses %s, naming the row and column, as the lookup does',
    async (_, bad, column) => {
      const fixture = await echoFixture();
      const service = fixture.registry.featureServices.find((s) => s.name === 'checkout');
      if (!service) throw new Error('no service');
      const part = planOnDemand(fixture.registry, service, () => true);
      // The lookup's answer for the same entity: 400 naming the field.
      expect(() => requestValues(part, [{ customer_id: 'C1', ...good, ...bad }])).toThrow(
        new RegExp(`\\$\\.entities\\[0\\]\\.${column}: must be`),
      );
      const made = fixture.trainingSet(
        [
          { customer_id: 'C1', event_timestamp: at, ...good },
          { customer_id: 'C1', event_timestamp: at, ...good, ...bad },
        ],
        { request: { service: 'checkout' } },
      );
      await expect(made).rejects.toThrow(OnDemandRowError);
      await expect(made).rejects.toThrow(new RegExp(`entity row 2, column ${column}`));
    },
    120_000,
  );
});

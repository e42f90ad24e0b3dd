import { describe, expect, it } from 'vitest';
import { spendRatioCheckout } from '../../helpers/spend-ratio-checkout.ts';

const { reads, post } = spendRatioCheckout();

describe('a service lookup with an on-demand view', () => {
  it('runs the transform over the fetched inputs and each entity’s request values', async () => {
    reads.length = 0;
    const { status, json } = await post({
      entities: [
        { customer_id: 'C1', basket: 120.5, coupon: false },
        { customer_id: 'NONE', basket: 20, coupon: true },
      ],
    });
    expect(status).toBe(200);
    expect(json.results[0]).toEqual({
      entity: { customer_id: 'C1' },
      features: {
        plan: { value: 'basic', status: 'PRESENT', event_timestamp: '2026-03-01T00:00:00.000000Z' },
        ratio: { value: 120.5 / 50, status: 'PRESENT', event_timestamp: null },
        big: { value: true, status: 'PRESENT', event_timestamp: null },
      },
    });
    expect(json.results[1].features.ratio).toEqual({
      value: null,
      status: 'NULL_VALUE',
      event_timestamp: null,
    });
    expect(json.results[1].features.big.value).toBe(true);
    // The input view is read once, its input under a name no answer shows.
    expect(reads[0]?.views.map((v) => v.view)).toEqual(['profile']);
  });

  it('fetches the inputs’ views even when only on-demand features are asked for', async () => {
    reads.length = 0;
    const { json } = await post({
      entities: [{ customer_id: 'C1', basket: 10, coupon: false }],
      features: ['ratio'],
    });
    expect(Object.keys(json.results[0].features)).toEqual(['ratio']);
    expect(json.results[0].features.ratio.value).toBe(0.2);
    expect(reads[0]?.views[0]?.features.map((f) => f.feature)).toEqual(['monthly']);
  });

  it.each([
    [13, 'transform threw: unlucky basket'],
    [7, 'feature "big" (bool) must be true or false, got "yes"'],
  ])(
    'answers TRANSFORM_ERROR for the entity whose basket is %s, serving the others',
    async (basket, message) => {
      const { status, json } = await post({
        entities: [
          { customer_id: 'C1', basket, coupon: false },
          { customer_id: 'C2', basket: 200, coupon: false },
        ],
      });
      expect(status).toBe(200);
      expect(json.results[0].features.ratio).toEqual({
        value: null,
        status: 'TRANSFORM_ERROR',
        event_timestamp: null,
        error: `spend_ratio: ${message}`,
      });
      expect(json.results[0].features.plan.status).toBe('PRESENT');
      expect(json.results[1].features.big).toMatchObject({ value: true, status: 'PRESENT' });
    },
  );

  it.each([
    [{ customer_id: 'C1', coupon: true }, 'MISSING_REQUEST_VALUE', '$.entities[1].basket'],
    [
      { customer_id: 'C1', basket: '12', coupon: true },
      'INVALID_REQUEST_VALUE',
      '$.entities[1].basket',
    ],
    [
      { customer_id: 'C1', basket: 12, coupon: 'no' },
      'INVALID_REQUEST_VALUE',
      '$.entities[1].coupon',
    ],
    [
      { customer_id: 'C1', basket: 12, coupon: true, extra: 1 },
      'UNKNOWN_KEY',
      '$.entities[1].extra',
    ],
  ])(
    'refuses a bad request value with a 400 naming the entity and field: %j',
    async (bad, code, path) => {
      reads.length = 0;
      const { status, json } = await post({
        entities: [{ customer_id: 'C0', basket: 1, coupon: false }, bad],
      });
      expect(status).toBe(400);
      expect(json.error.code).toBe(code);
      expect(json.error.details.path).toBe(path);
      expect(json.error.message).toContain(path);
      expect(reads).toEqual([]);
    },
  );
});

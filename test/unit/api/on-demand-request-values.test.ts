import { describe, expect, it } from 'vitest';
import { spendRatioCheckout } from '../../helpers/spend-ratio-checkout.ts';

const { post } = spendRatioCheckout();

describe('request values when only stored features are asked for', () => {
  it('are not echoed back in the answer’s entity (join keys only, as when on-demand features are asked for)', async () => {
    const { status, json } = await post({
      entities: [{ customer_id: 'C1', basket: 5, coupon: true }],
      features: ['plan'],
    });
    expect(status).toBe(200);
    expect(json.results[0].entity).toEqual({ customer_id: 'C1' });
  });

  it('are type-checked as when on-demand features are asked for: a mistyped value is a 400 naming it', async () => {
    const { status, json } = await post({
      entities: [{ customer_id: 'C1', basket: 'five' }],
      features: ['plan'],
    });
    expect(status).toBe(400);
    expect(json.error.code).toBe('INVALID_REQUEST_VALUE');
    expect(json.error.details.path).toBe('$.entities[0].basket');
  });

  it('may be left out, since no transform needs them', async () => {
    const { status, json } = await post({ entities: [{ customer_id: 'C1' }], features: ['plan'] });
    expect(status).toBe(200);
    expect(json.results[0].features.plan.value).toBe('basic');
  });
});

describe('request values of on-demand views that are not asked for', () => {
  it('are type-checked too', async () => {
    const { status, json } = await post({
      entities: [{ customer_id: 'C1', basket: 5, coupon: 'yes' }],
      features: ['plan'],
    });
    expect(status).toBe(400);
    expect(json.error.details.path).toBe('$.entities[0].coupon');
  });
});

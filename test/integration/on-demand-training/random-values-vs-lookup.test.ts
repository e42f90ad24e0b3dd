import { describe, expect, it } from 'vitest';
import { requestValues } from '../../../lib/api/on-demand-lookup.ts';
import { Prng } from '../../../lib/demo/prng.ts';
import { planOnDemand } from '../../../lib/on-demand/plan-on-demand.ts';
import { runTransform } from '../../../lib/on-demand/transform-values.ts';
import { at, echo, echoFixture } from '../../helpers/on-demand-echo-fixture.ts';

// The same entity rows as a lookup body (JSON) and as a JSON-lines entity file: the transform
// must see the same values, bit for bit (issue 18 §3).
function randomDouble(prng: Prng): number {
  const bytes = new DataView(new ArrayBuffer(8));
  for (;;) {
    for (let i = 0; i < 8; i++) bytes.setUint8(i, prng.int(0, 255));
    const value = bytes.getFloat64(0);
    if (Number.isFinite(value)) return value;
  }
}
function randomString(prng: Prng, alphabet: readonly string[]): string {
  let text = '';
  for (let i = prng.int(0, 12); i > 0; i--) text += alphabet[prng.int(0, alphabet.length - 1)];
  return text;
}

describe('random request values give the transform what a lookup gives it', () => {
  it.each([
    ['printable text and numbers', ['a', 'é', '😀', '"', ',', '\\', ' ', '\n', '\t', '0', '1e5']],
    ['control characters', ['a', '\u0000', '\u0001', '\u001f', '\u007f']],
  ])(
    '%s',
    async (_, alphabet) => {
      const prng = new Prng(18);
      const rows = Array.from({ length: 500 }, (_, i) => ({
        customer_id: i % 2 ? 'C1' : 'C2',
        amount: i < 5 ? [0, -0, 5e-324, 1.7976931348623157e308, 0.1 + 0.2][i] : randomDouble(prng),
        coupon: randomString(prng, alphabet),
        flag: prng.int(0, 1) === 1,
        qty: prng.int(-(2 ** 31), 2 ** 31) * 2 ** 21 + prng.int(0, 2 ** 21 - 1),
      }));
      const fixture = await echoFixture();
      const service = fixture.registry.featureServices.find((s) => s.name === 'checkout');
      if (!service) throw new Error('no service');
      const part = planOnDemand(fixture.registry, service, () => true);
      const fromLookup = requestValues(part, JSON.parse(JSON.stringify(rows))).map((values) =>
        runTransform(echo.transform, { ...values, monthly: null }, echo.features),
      );
      const result = await fixture.trainingSet(
        rows.map((r) => ({ ...r, event_timestamp: at })),
        { request: { service: 'checkout' } },
      );
      const pick = (r: Record<string, unknown>) => [
        r.amount_out,
        r.coupon_out,
        r.flag_out,
        r.qty_out,
      ];
      const got = (result.records ?? []).map(pick);
      const want = fromLookup.map(pick);
      for (const [i, row] of want.entries()) expect(got[i], `entity row ${i + 1}`).toEqual(row);
    },
    180_000,
  );
});

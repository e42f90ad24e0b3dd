import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, echoFixture } from '../../helpers/on-demand-echo-fixture.ts';

const request = { amount: 2, coupon: 'a', flag: true, qty: 1 };

describe('entity files with oddly named extra columns beside the request columns', () => {
  it.each(['asof', 'merge-window'] as const)(
    'keeps quotes, spaces, unicode, __proto__ and constructor columns as they are (%s)',
    async (strategy) => {
      const fixture = await echoFixture();
      const out = path.join(fixture.dataDir, 'out.csv');
      const odd = { 'a"b c': 1, 'Ünï cødé': 2, ['__proto__']: 3, constructor: 4, 'sp ace': 5 };
      await fixture.trainingSet([{ customer_id: 'C1', event_timestamp: at, ...request, ...odd }], {
        request: { service: 'checkout' },
        strategy,
        out,
      });
      const [header, line] = (await readFile(out, 'utf8')).trim().split('\n');
      expect(header).toBe(
        'customer_id,event_timestamp,amount,coupon,flag,qty,"a""b c",Ünï cødé,__proto__,constructor,sp ace,plan,amount_out,coupon_out,flag_out,qty_out,monthly_out',
      );
      expect(line).toMatch(/,1,2,3,4,5,basic,2\.0,a,true,1,50\.0$/);
    },
    120_000,
  );

  it('refuses an entity column that differs from an on-demand output only in case', async () => {
    const fixture = await echoFixture();
    const out = path.join(fixture.dataDir, 'out.parquet');
    const made = fixture.trainingSet(
      [{ customer_id: 'C1', event_timestamp: at, ...request, AMOUNT_OUT: 1 }],
      { request: { service: 'checkout' }, out },
    );
    // DuckDB names are case-insensitive: the Parquet file gets AMOUNT_OUT and amount_out, and
    // DuckDB reads it back as AMOUNT_OUT, amount_out_1, so SELECT amount_out gives the label.
    await expect(made).rejects.toThrow(/AMOUNT_OUT|amount_out/);
  }, 120_000);
});

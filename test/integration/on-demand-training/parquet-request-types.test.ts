import { describe, expect, it } from 'vitest';
import { EntityFileError } from '../../../lib/offline/load-entities.ts';
import { echoFixture, writeParquet } from '../../helpers/on-demand-echo-fixture.ts';

const row = (amount: string, coupon = "'a'", flag = 'true', qty = '3::BIGINT') =>
  `SELECT 'C1' AS customer_id, TIMESTAMP '2026-03-10 00:00:00' AS event_timestamp, ${amount} AS amount, ${coupon} AS coupon, ${flag} AS flag, ${qty} AS qty`;

describe('request values in a Parquet entity file', () => {
  // The transform should see the number the file holds, as it sees a float32 stored input
  // (DuckDB gives FLOAT 0.1 as 0.10000000149011612). CAST(FLOAT AS VARCHAR) prints the
  // shortest float32 text, '0.1', which parses to another double.
  it('gives a FLOAT (float32) column of a float64 field to the transform as the value stored', async () => {
    const fixture = await echoFixture();
    const file = await writeParquet(fixture.dataDir, 'f32.parquet', row('0.1::FLOAT'));
    const result = await fixture.trainingSet([], {
      request: { service: 'checkout' },
      entities: file,
    });
    expect(result.records?.[0]?.amount_out).toBe(Math.fround(0.1));
  }, 120_000);

  it.each([
    ['a VARCHAR column for a float64 field', row("'5'"), 'amount', 'VARCHAR', 'float64'],
    ['a DOUBLE column for a string field', row('1.5', '1.5::DOUBLE'), 'coupon', 'DOUBLE', 'string'],
    [
      'a TIMESTAMP column for a string field',
      row('1.5', "TIMESTAMP '2026-01-01'"),
      'coupon',
      'TIMESTAMP',
      'string',
    ],
    ['a VARCHAR column for a bool field', row('1.5', "'a'", "'true'"), 'flag', 'VARCHAR', 'bool'],
  ])(
    'refuses %s before the join, as the lookup refuses the mistyped JSON value',
    async (_, select, column, fileType, fieldType) => {
      const fixture = await echoFixture();
      const file = await writeParquet(fixture.dataDir, 'typed.parquet', select);
      const made = fixture.trainingSet([], { request: { service: 'checkout' }, entities: file });
      await expect(made).rejects.toThrow(EntityFileError);
      await expect(made).rejects.toThrow(
        new RegExp(
          `column "${column}" of entity file typed.parquet is ${fileType}, but request value "${column}" is ${fieldType}`,
        ),
      );
    },
    120_000,
  );
});

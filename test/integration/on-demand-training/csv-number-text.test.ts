import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnDemandRowError } from '../../../lib/offline/on-demand-columns.ts';
import { at, echoFixture, writeParquet } from '../../helpers/on-demand-echo-fixture.ts';

const header = 'customer_id,event_timestamp,amount,coupon,flag,qty';

// Each text a lookup could not send as a JSON value of the field's type is refused, naming
// entity row 2 and the column (row 1 is valid, so DuckDB's sniffer sees a normal first row).
describe('CSV request values a lookup could not send are refused', () => {
  it.each([
    ['int64 beyond 2^53', { qty: '9007199254740993' }, 'qty'],
    ['int64 beyond int64', { qty: '99999999999999999999' }, 'qty'],
    ['a fraction for int64', { qty: '1.5' }, 'qty'],
    ['1e400', { amount: '1e400' }, 'amount'],
    ['NaN', { amount: 'NaN' }, 'amount'],
    ['hex', { amount: '0x10' }, 'amount'],
    ['digit separators', { amount: '1_000' }, 'amount'],
    ['a decimal comma', { amount: '"1,5"' }, 'amount'],
    ['1 for a bool', { flag: '1' }, 'flag'],
    // DuckDB's sniffer reads a column of true/yes/no/T/F as BOOLEAN (but as text once a "y"
    // is in it), so these pass or fail with the other rows of the file.
    ['yes for a bool', { flag: 'yes' }, 'flag'],
    ['no for a bool', { flag: 'no' }, 'flag'],
    ['T for a bool', { flag: 'T' }, 'flag'],
    ['an empty number', { amount: '' }, 'amount'],
  ])(
    '%s',
    async (_, bad, column) => {
      const fixture = await echoFixture();
      const row = { amount: '1.5', coupon: 'a', flag: 'true', qty: '1', ...bad };
      const file = path.join(fixture.dataDir, 'entities.csv');
      await writeFile(
        file,
        `${header}\nC1,${at},1.5,a,true,1\nC1,${at},${row.amount},${row.coupon},${row.flag},${row.qty}\n`,
      );
      const made = fixture.trainingSet([], { request: { service: 'checkout' }, entities: file });
      await expect(made).rejects.toThrow(OnDemandRowError);
      await expect(made).rejects.toThrow(new RegExp(`entity row 2, column ${column}`));
    },
    120_000,
  );

  it('a Parquet BIGINT beyond 2^53 for an int64 field', async () => {
    const fixture = await echoFixture();
    const file = await writeParquet(
      fixture.dataDir,
      'big.parquet',
      `SELECT 'C1' AS customer_id, TIMESTAMP '2026-03-10 00:00:00' AS event_timestamp, 1.5 AS amount, 'a' AS coupon, true AS flag, 9007199254740993::BIGINT AS qty`,
    );
    const made = fixture.trainingSet([], { request: { service: 'checkout' }, entities: file });
    await expect(made).rejects.toThrow(/entity row 1, column qty .*within ±\(2\^53 - 1\)/);
  }, 120_000);
});

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, echoFixture } from '../../helpers/on-demand-echo-fixture.ts';

const header = 'customer_id,event_timestamp,amount,coupon,flag,qty';

describe('request values in a CSV entity file', () => {
  // A lookup accepts "" for a string field, but DuckDB reads a CSV's quoted "" as NULL like an
  // empty field: a CSV cannot carry an empty string (README says so; Parquet or JSON lines can).
  it('refuses a quoted empty field of a string field as an empty value, naming row and column', async () => {
    const fixture = await echoFixture();
    const file = path.join(fixture.dataDir, 'entities.csv');
    await writeFile(file, `${header}\nC1,${at},1,"",true,1\n`);
    const made = fixture.trainingSet([], { request: { service: 'checkout' }, entities: file });
    await expect(made).rejects.toThrow(/entity row 1, column coupon .*empty value/);
  }, 120_000);

  it('names the value as written when a number field holds Infinity', async () => {
    const fixture = await echoFixture();
    const file = path.join(fixture.dataDir, 'entities.csv');
    await writeFile(file, `${header}\nC1,${at},1.5,a,true,1\nC1,${at},Infinity,a,true,1\n`);
    const made = fixture.trainingSet([], { request: { service: 'checkout' }, entities: file });
    await expect(made).rejects.toThrow(/entity row 2, column amount .*"Infinity"/);
  }, 120_000);
});

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { offlineFixture } from '../../helpers/offline-fixture.ts';
import { at, definitions, echoFixture } from '../../helpers/on-demand-echo-fixture.ts';

// Before cd9abdb a failed COPY left an existing --out untouched (DuckDB writes beside an
// existing target and renames only on success); getTrainingSet now rm()s options.out on any
// query failure, including failures that happen before DuckDB ever opened the file.
describe('a training set whose out file already exists', () => {
  it('keeps the existing file when a transform fails', async () => {
    const fixture = await echoFixture();
    const out = path.join(fixture.dataDir, 'previous.parquet');
    await writeFile(out, 'yesterday’s good training set');
    const made = fixture.trainingSet(
      [
        { customer_id: 'C1', event_timestamp: at, amount: 1, coupon: 'a', flag: true, qty: 1 },
        { customer_id: 'C2', event_timestamp: at, amount: 13, coupon: 'b', flag: true, qty: 1 },
      ],
      { request: { service: 'checkout' }, out },
    );
    await expect(made).rejects.toThrow(/entity row 2/);
    await expect(readFile(out, 'utf8')).resolves.toBe('yesterday’s good training set');
  }, 120_000);

  it('keeps the existing file when the query fails before writing (a view with no data)', async () => {
    const fixture = await offlineFixture(definitions); // nothing ingested
    const out = path.join(fixture.dataDir, 'previous.csv');
    await writeFile(out, 'customer_id,plan\nC1,basic\n');
    const made = fixture.trainingSet([{ customer_id: 'C1', event_timestamp: at }], {
      request: { features: ['profile:plan'] },
      out,
    });
    await expect(made).rejects.toThrow(/has no data/);
    await expect(readFile(out, 'utf8')).resolves.toBe('customer_id,plan\nC1,basic\n');
  }, 120_000);
});

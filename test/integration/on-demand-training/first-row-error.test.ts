import { describe, expect, it } from 'vitest';
import { at, echoFixture, writeParquet } from '../../helpers/on-demand-echo-fixture.ts';

// 300,000 entity rows, two of them failing: row 3,000 and row 123,000 (the second row group). DuckDB runs the
// projection that calls the transform on its threads over the sorted result, so chunks reach
// the UDF out of file order; `failure ??=` / `firstNulled ??=` keep the first chunk to arrive,
// not the first row. The error a user reads then depends on thread timing.
const rows = 300_000;
const failing = [3_000, 123_000];
const entities = (dir: string) =>
  writeParquet(
    dir,
    'many.parquet',
    `SELECT CASE WHEN range % 2 = 0 THEN 'C1' ELSE 'C2' END AS customer_id, TIMESTAMP '${at.slice(0, 19).replace('T', ' ')}' AS event_timestamp, CASE WHEN range + 1 IN (${failing.join(', ')}) THEN 13.0 ELSE 1.0 END AS amount, 'a' AS coupon, true AS flag, 1::BIGINT AS qty FROM range(${rows})`,
  );

describe('the row a failing on-demand training set names', () => {
  it('is the first failing row of the entity file, whatever the threads did (fail)', async () => {
    const fixture = await echoFixture();
    const file = await entities(fixture.dataDir);
    for (let run = 0; run < 3; run++) {
      const made = fixture.trainingSet([], { request: { service: 'checkout' }, entities: file });
      await expect(made).rejects.toThrow(/^entity row 3000: /);
    }
  }, 600_000);

  it('is the first failing row of the entity file, whatever the threads did (null)', async () => {
    const fixture = await echoFixture();
    const file = await entities(fixture.dataDir);
    for (let run = 0; run < 3; run++) {
      const result = await fixture.trainingSet([], {
        request: { service: 'checkout' },
        entities: file,
        onTransformError: 'null',
        out: `${fixture.dataDir}/out-${run}.parquet`,
      });
      expect(result.transformErrors).toEqual({
        rows: 2,
        first: expect.stringMatching(/^entity row 3000: /),
      });
    }
  }, 600_000);
});

describe('a 300,000-row on-demand training set computed on DuckDB threads', () => {
  it('writes the rows in entity-file order, each with its own request values', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const fixture = await echoFixture();
    const file = await writeParquet(
      fixture.dataDir,
      'ordered.parquet',
      `SELECT CASE WHEN range % 3 = 0 THEN 'C1' ELSE 'C2' END AS customer_id, TIMESTAMP '2026-03-10 00:00:00' - to_seconds(range % 5000) AS event_timestamp, 1.0 AS amount, 'a' AS coupon, true AS flag, range::BIGINT AS qty FROM range(${rows})`,
    );
    const out = `${fixture.dataDir}/ordered-out.parquet`;
    await fixture.trainingSet([], { request: { service: 'checkout' }, entities: file, out });
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const check = await connection.runAndReadAll(
      `SELECT count(*) AS n, count(*) FILTER (WHERE qty_out IS DISTINCT FROM qty) AS mixed, count(*) FILTER (WHERE qty <> i) AS moved FROM (SELECT *, row_number() OVER () - 1 AS i FROM read_parquet('${out}'))`,
    );
    connection.closeSync();
    instance.closeSync();
    expect(check.getRowObjectsJson()).toEqual([{ n: String(rows), mixed: '0', moved: '0' }]);
  }, 600_000);
});

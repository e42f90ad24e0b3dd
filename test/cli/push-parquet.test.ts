import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const account = defineEntity({ name: 'account', joinKeys: [{ name: 'account_id', type: 'int64' }] });
const payments = defineSource({
  name: 'payments',
  schema: {
    account_id: 'int64', amount: 'float64', flagged: 'bool', scores: 'list<float64>',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
export const lastPayment = defineFeatureView({
  name: 'last_payment', entities: [account], source: payments,
  features: { amount: { type: 'float64', min: 0 }, flagged: 'bool', scores: 'list<float64>' },
  online: true, schedule: 'rate(1 hour)',
});
`;

let work: string;
let args: string[];

/** Writes a Parquet file from a DuckDB SELECT, so its column types are DuckDB's, not JSON's. */
async function parquet(name: string, select: string): Promise<string> {
  const file = path.join(work, name);
  const session = await openDuckdb();
  try {
    await session.connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  } finally {
    session.close();
  }
  return file;
}

async function featuresOf(account: number) {
  const got = await runFstore([
    ...args,
    'get',
    '--view',
    'last_payment',
    '--entity',
    `account_id=${account}`,
    '--json',
  ]);
  expect(got.code, got.stderr).toBe(0);
  const [result] = JSON.parse(got.stdout) as {
    features: Record<string, { value: unknown; status: string; event_timestamp?: string }>;
  }[];
  return result?.features ?? {};
}

describe('fstore push --file rows.parquet', () => {
  beforeAll(async () => {
    work = await makeTempDir('push-parquet');
    const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('push-parquet-defs'));
    args = ['--defs', defsDir, '--data-dir', path.join(work, '.fstore')];
  });

  it('maps Parquet types to the schema: BIGINT key, DECIMAL amount, list, TIMESTAMPTZ with microseconds', async () => {
    const file = await parquet(
      'rows.parquet',
      `SELECT * FROM (VALUES
        (CAST(101 AS BIGINT), CAST(12.25 AS DECIMAL(10, 2)), true, [0.5, 1.5],
         TIMESTAMPTZ '2026-11-30 10:00:00.123456+02'),
        (CAST(102 AS BIGINT), CAST(3 AS DECIMAL(10, 2)), false, [],
         TIMESTAMPTZ '2026-11-30 09:30:00+00')
      ) AS t(account_id, amount, flagged, scores, event_ts)`,
    );
    const pushed = await runFstore([
      ...args,
      'push',
      '--source',
      'payments',
      '--file',
      file,
      '--json',
    ]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ rows: 2, online: { written: 2 } });
    const first = await featuresOf(101);
    expect(first.amount?.value).toBe(12.25);
    expect(first.flagged?.value).toBe(true);
    expect(first.scores?.value).toEqual([0.5, 1.5]);
    expect(first.amount?.event_timestamp).toBe('2026-11-30T08:00:00.123456Z');
    expect((await featuresOf(102)).amount?.value).toBe(3);
  });

  it('pushes a whole DECIMAL key beyond 2^53 (a double would round it and the row be refused)', async () => {
    const file = await parquet(
      'wide-key.parquet',
      `SELECT CAST(9007199254740993 AS DECIMAL(20, 0)) AS account_id,
        CAST(4.5 AS DECIMAL(10, 2)) AS amount, true AS flagged, [1.0] AS scores,
        TIMESTAMP '2026-11-30 10:00:00' AS event_ts`,
    );
    const pushed = await runFstore([
      ...args,
      'push',
      '--source',
      'payments',
      '--file',
      file,
      '--json',
    ]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ rows: 1, online: { written: 1 } });
  });

  it('refuses a file whose column does not fit the schema, naming the row and column, and writes nothing', async () => {
    const file = await parquet(
      'bad.parquet',
      `SELECT * FROM (VALUES
        (CAST(201 AS BIGINT), '5', true, [1.0], TIMESTAMP '2026-11-30 10:00:00'),
        (CAST(202 AS BIGINT), 'abc', true, [1.0], TIMESTAMP '2026-11-30 10:00:00')
      ) AS t(account_id, amount, flagged, scores, event_ts)`,
    );
    const pushed = await runFstore([...args, 'push', '--source', 'payments', '--file', file]);
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toMatch(/bad\.parquet row 1: amount: .*number/);
    expect(pushed.stderr).toContain('nothing was written');
    expect((await featuresOf(201)).amount?.status).toBe('NOT_FOUND');
  });

  it('names a damaged Parquet file instead of failing with the engine message', async () => {
    const file = path.join(work, 'damaged.parquet');
    await (await import('node:fs/promises')).writeFile(file, 'PAR1 not really parquet');
    const pushed = await runFstore([...args, 'push', '--source', 'payments', '--file', file]);
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toContain('damaged.parquet');
    expect(pushed.stderr).not.toContain('Error: IO Error');
  });
});

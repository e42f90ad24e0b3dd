import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOfKey } from '../../../lib/materialize/shard-plan.ts';
import {
  renderShardedRows,
  renderShardUnload,
  renderUnloadColumns,
} from '../../../lib/materialize/shard-unload.ts';
import { type DuckdbSession, openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import type { PlannedView } from '../../../lib/sql/point-in-time-plan.ts';
import { assertTrinoGrammar } from '../../helpers/trino-grammar.ts';

const view: PlannedView = {
  view: 'account_balance',
  source: 'balances',
  joinKeys: [{ name: 'account_id', type: 'string' }],
  timestampColumn: 'updated_at',
  features: [{ feature: 'balance', type: 'int64', sourceType: 'int64', outputName: 'balance' }],
};
const window = { until: '2026-03-02T00:00:00Z' };

let session: DuckdbSession;
let root: string;
beforeAll(async () => {
  session = await openDuckdb();
  root = await mkdtemp(path.join(tmpdir(), 'fstore-shard-unload-'));
  const folder = path.join(root, 'balances', 'dt=2026-03-01');
  await mkdir(folder, { recursive: true });
  await session.connection.run(
    `COPY (SELECT 'A' || i AS account_id, i AS balance, TIMESTAMP '2026-03-01 10:00:00' AS updated_at, i AS fstore_seq FROM range(200) t(i)) TO '${path.join(folder, 'part-0.parquet')}' (FORMAT parquet)`,
  );
});
afterAll(async () => {
  session.close();
  await rm(root, { recursive: true, force: true });
});

describe('the rows of a sharded run in one query (for one UNLOAD on Athena)', () => {
  it('carry each entity’s shard as fstore_shard, the last column, as the writer computes it (DuckDB)', async () => {
    const sql = renderShardedRows({ view, window }, duckdbDialect(root), 5);
    const result = await session.connection.runAndReadAll(sql);
    expect(result.columnNames().at(-1)).toBe('fstore_shard');
    const rows = result.getRowObjectsJson();
    expect(rows).toHaveLength(200);
    for (const row of rows) expect(Number(row.fstore_shard)).toBe(shardOfKey([row.account_id], 5));
  });

  it('is one Athena UNLOAD to gzip JSON lines partitioned by shard, which parses with the Trino grammar', () => {
    const sql = renderShardUnload(
      { view, window },
      athenaDialect('fstore_dev'),
      8,
      's3://offline/_fstore/materialize/account_balance/run-1/',
    );
    expect(sql).toMatch(/^UNLOAD \(SELECT CAST\("account_id" AS VARCHAR\) AS "account_id", /);
    expect(sql).toContain('from_base(');
    expect(sql).toMatch(
      /TO 's3:\/\/offline\/_fstore\/materialize\/account_balance\/run-1\/' WITH \(format = 'JSON', compression = 'GZIP', partitioned_by = ARRAY\['fstore_shard'\]\)$/,
    );
    assertTrinoGrammar({ name: 'materialization shard UNLOAD', sql });
  });

  it('unloads every value as text (no bigint or microsecond lost to JSON numbers), the shard last (DuckDB)', async () => {
    const sql = renderUnloadColumns({ view, window }, duckdbDialect(root), 5);
    const result = await session.connection.runAndReadAll(sql);
    expect(result.columnNames()).toEqual([
      'account_id',
      'balance',
      'event_ts',
      'created_ts',
      'fstore_seq',
      'fstore_shard',
    ]);
    const rows = result.getRowObjectsJson();
    expect(rows).toHaveLength(200);
    const a7 = rows.find((row) => row.account_id === 'A7');
    expect(a7).toMatchObject({ balance: '7', fstore_seq: '7' });
    expect(String(a7?.event_ts)).toMatch(/^2026-03-01 10:00:00/);
    expect(Number(a7?.fstore_shard)).toBe(shardOfKey(['A7'], 5));
  });

  it('refuses a location that is not an S3 folder, and more shards than an UNLOAD can partition', () => {
    const athena = athenaDialect('fstore_dev');
    expect(() => renderShardUnload({ view, window }, athena, 4, 's3://offline/run-1')).toThrow(
      'an S3 folder (s3://bucket/prefix/)',
    );
    expect(() => renderShardUnload({ view, window }, athena, 101, 's3://offline/run/')).toThrow(
      'at most 100',
    );
  });
});

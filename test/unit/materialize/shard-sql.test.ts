import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duckdbRowSource } from '../../../lib/materialize/duckdb-row-source.ts';
import { renderMaterializationRows } from '../../../lib/materialize/row-source.ts';
import { shardOfKey } from '../../../lib/materialize/shard-plan.ts';
import { type DuckdbSession, openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import { athenaDialect } from '../../../lib/sql/athena-dialect.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import type { PlannedView } from '../../../lib/sql/point-in-time-plan.ts';
import { renderShardOf } from '../../../lib/sql/render-shard.ts';
import { assertTrinoGrammar } from '../../helpers/trino-grammar.ts';

const keys = [
  { name: 'region', type: 'string' as const },
  { name: 'store_id', type: 'int64' as const },
];
const view: PlannedView = {
  view: 'store_latest',
  source: 'sales',
  joinKeys: keys,
  timestampColumn: 'sold_at',
  features: [{ feature: 'amount', type: 'int64', sourceType: 'int64', outputName: 'amount' }],
};
const until = '2026-03-02T00:00:00Z';

let session: DuckdbSession;
let root: string;
beforeAll(async () => {
  session = await openDuckdb();
  root = await mkdtemp(path.join(tmpdir(), 'fstore-shard-sql-'));
  const folder = path.join(root, 'sales', 'dt=2026-03-01');
  await mkdir(folder, { recursive: true });
  // 300 stores in 3 regions (one region with a non-ASCII name), two rows each.
  await session.connection.run(
    `COPY (SELECT ['north', 'süd', 'east'][1 + i % 3] AS region, (i * 7919) % 100003 - 500 AS store_id, i AS amount, TIMESTAMP '2026-03-01 10:00:00' + to_seconds(r) AS sold_at, i * 2 + r AS fstore_seq FROM range(300) t(i), range(2) u(r)) TO '${path.join(folder, 'part-0.parquet')}' (FORMAT parquet)`,
  );
});
afterAll(async () => {
  session.close();
  await rm(root, { recursive: true, force: true });
});

describe('the shard of an entity key in SQL', () => {
  it('is the shard the materializer computes, in DuckDB, for string, negative integer and composite keys', async () => {
    const dialect = duckdbDialect(root);
    for (const shards of [1, 3, 8]) {
      const result = await session.connection.runAndReadAll(
        `SELECT DISTINCT region, store_id, ${renderShardOf(keys, dialect, shards)} AS shard FROM ${dialect.sourceRelation('sales')}`,
      );
      const rows = result.getRowObjectsJson();
      expect(rows).toHaveLength(300);
      for (const row of rows)
        expect(Number(row.shard)).toBe(shardOfKey([row.region, row.store_id], shards));
    }
  });

  it('is the same hash spelled with Trino functions on Athena, and parses with the Trino grammar', () => {
    const athena = athenaDialect('fstore_dev');
    const expression = renderShardOf(keys, athena, 4);
    expect(expression).toBe(
      `from_base(substr(to_hex(md5(to_utf8(COALESCE(CAST("region" AS VARCHAR), '') || chr(31) || COALESCE(CAST("store_id" AS VARCHAR), '')))), 1, 8), 16) % 4`,
    );
    const sql = renderMaterializationRows(
      { view, window: { until }, shard: { index: 2, count: 4 }, afterKey: ['north', 5] },
      athena,
      { orderByKey: true },
    );
    assertTrinoGrammar({ name: 'materialization shard', sql });
  });
});

describe('a shard’s materialization rows', () => {
  it('are the rows of its keys only; the shards together are the unsharded rows, each once, in key order', async () => {
    const source = duckdbRowSource(session.connection, duckdbDialect(root));
    const read = async (shard?: { index: number; count: number }, afterKey?: [string, number]) => {
      const rows: Record<string, unknown>[] = [];
      for await (const batch of source.latestRows({
        view,
        window: { until },
        ...(shard ? { shard } : {}),
        ...(afterKey ? { afterKey } : {}),
      }))
        rows.push(...batch);
      return rows;
    };
    const all = await read();
    expect(all).toHaveLength(300);
    // One DuckDB connection streams one query at a time (the materializer opens one per shard).
    const byShard: Record<string, unknown>[][] = [];
    for (const index of [0, 1, 2]) byShard.push(await read({ index, count: 3 }));
    for (const [index, rows] of byShard.entries()) {
      expect(rows.length).toBeGreaterThan(50);
      for (const row of rows) expect(shardOfKey([row.region, row.store_id], 3)).toBe(index);
      const keyOrder = rows.map((r) => [r.region, Number(r.store_id)]);
      expect(keyOrder).toEqual(
        [...keyOrder].sort((a, b) =>
          a[0] === b[0]
            ? (a[1] as number) - (b[1] as number)
            : String(a[0]) < String(b[0])
              ? -1
              : 1,
        ),
      );
    }
    const key = (r: Record<string, unknown>) => `${r.region}/${r.store_id}/${r.amount}`;
    expect(byShard.flat().map(key).sort()).toEqual(all.map(key).sort());
    expect(
      await source.countLatest?.({ view, window: { until }, shard: { index: 1, count: 3 } }),
    ).toBe(byShard[1]?.length);
    // Resuming a shard after a key reads only that shard's keys after it.
    const first = byShard[0] as Record<string, unknown>[];
    const middle = first[Math.floor(first.length / 2)] as Record<string, unknown>;
    const resumed = await read({ index: 0, count: 3 }, [
      middle.region as string,
      Number(middle.store_id),
    ]);
    expect(resumed.map(key)).toEqual(first.slice(Math.floor(first.length / 2) + 1).map(key));
  });

  it('are the unsharded query itself for one shard', () => {
    const athena = athenaDialect('fstore_dev');
    expect(
      renderMaterializationRows({ view, window: { until }, shard: { index: 0, count: 1 } }, athena),
    ).toBe(renderMaterializationRows({ view, window: { until } }, athena));
  });
});

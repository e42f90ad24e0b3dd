import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { runningTotalsView } from '../../lib/offline/running-totals.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { renderSumScalesQuery } from '../../lib/sql/render-running-totals.ts';
import {
  buildKeyIds,
  renderBuildKeys,
  renderBuildKeysStatistics,
} from '../../lib/sql/render-running-totals-build-keys.ts';
import { renderKeyIds } from '../../lib/sql/render-running-totals-key-ids.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [
    { name: 'customer_id', type: 'string' },
    { name: 'region', type: 'int64' },
  ],
});
const orders = defineSource({
  name: 'orders',
  schema: {
    customer_id: 'string',
    region: 'int64',
    amount: 'float64',
    qty: 'int64',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const summed = defineAggregationView({
  name: 'summed',
  entities: [customer],
  source: orders,
  aggregations: {
    amount: { functions: ['sum', 'count'], windows: ['7d'] },
    qty: { functions: ['sum'], windows: ['7d'] },
  },
});
const counted = defineAggregationView({
  name: 'counted',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['count'], windows: ['7d'] } },
});

/**
 * Keys that sort differently as text and by insertion, NULL key parts, several rows a key, and
 * per column a smallest exponent, magnitudes and non-finite values spread over several keys
 * (amounts are multiples of 1/64, so any order of summing them gives the same double).
 */
const rows = [
  ["'b'", '2', '1.5'],
  ["'b'", '2', '-0.015625'],
  ["'a'", '10', '250.25'],
  ["'a'", '9', "'Infinity'"],
  ["'c'", 'NULL', "'NaN'"],
  ['NULL', '1', '3.0'],
  ['NULL', '1', 'NULL'],
  ['NULL', 'NULL', '0'],
  ["'a'", '10', '-1e3'],
];

describe('a full build reads its keys and sum-scale statistics once', () => {
  it('numbering keys as the dictionary does and giving the statistics query its row', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fstore-build-keys-'));
    const session = await openDuckdb();
    try {
      const values = rows
        .map(
          ([id, region, amount], i) =>
            `(${id}, CAST(${region} AS BIGINT), CAST(${amount} AS DOUBLE), ${i}, TIMESTAMP '2024-01-01' + INTERVAL (${i}) HOUR)`,
        )
        .join(', ');
      await session.connection.run(
        `COPY (SELECT *, '2024-01-01' AS dt FROM (VALUES ${values}) t(customer_id, region, amount, qty, event_ts)) TO '${path.join(dir, 'orders')}' (FORMAT parquet, PARTITION_BY (dt))`,
      );
      const dialect = duckdbDialect(dir);
      const registry = compileRegistry([{ definition: summed }, { definition: counted }]);
      const view = runningTotalsView(registry, 'summed');
      if (!view) throw new Error('summed has no running totals');
      await session.connection.run(
        `CREATE TEMP TABLE build_keys AS ${renderBuildKeys(view, dialect)}`,
      );
      const keys = ['customer_id', 'region'];
      const ids = await queryRows(
        session.connection,
        `SELECT * FROM ${buildKeyIds(view, dialect, 'build_keys')} ORDER BY fstore_key_id`,
      );
      expect(ids).toEqual(
        await queryRows(
          session.connection,
          `SELECT * FROM (${renderKeyIds(keys, dialect, dialect.sourceRelation('orders'))}) ORDER BY fstore_key_id`,
        ),
      );
      expect(ids.map((r) => [r.customer_id, r.region])).toEqual([
        ['a', 9],
        ['a', 10],
        ['b', 2],
        ['c', null],
        [null, 1],
        [null, null],
      ]);

      const statistics = renderBuildKeysStatistics(view, dialect, 'build_keys') ?? '';
      const [combined] = await queryRows(session.connection, statistics);
      const [direct] = await queryRows(
        session.connection,
        renderSumScalesQuery(view, dialect) ?? '',
      );
      expect(combined).toEqual(direct);
      expect(combined).toEqual({ 'amount@lo': -6, 'amount@abs': 1254.765625, 'amount@bad': 2 });

      const countOnly = runningTotalsView(registry, 'counted');
      if (!countOnly) throw new Error('counted has no running totals');
      expect(renderBuildKeysStatistics(countOnly, dialect, 'build_keys')).toBeUndefined();
    } finally {
      session.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

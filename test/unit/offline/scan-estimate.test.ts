import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import {
  athenaQueryPrice,
  inPartitionRange,
  partitionRanges,
  partitionTotals,
} from '../../../lib/offline/scan-estimate.ts';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import { millisecondRange } from '../../../lib/sql/athena-service-query.ts';
import { timestampText } from '../../../lib/sql/dialect.ts';
import { planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

const registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
const plan = planPointInTime(
  registry,
  { service: 'churn_v1' },
  { entityTimestampColumn: 'event_timestamp' },
);
const mib = 1024 ** 2;

describe('the dt partitions a training set can read', () => {
  it('runs per source from the earliest entity time minus its longest TTL to the latest entity time', () => {
    expect(
      partitionRanges(plan, { min: '2026-03-06T00:00:00Z', max: '2026-03-11T23:59:59.999999Z' }),
    ).toEqual([
      { source: 'customer_profiles', fromDay: '2026-02-04', toDay: '2026-03-12' },
      { source: 'customer_contracts', fromDay: '2025-03-06', toDay: '2026-03-12' },
      { source: 'orders', fromDay: '2025-12-06', toDay: '2026-03-12' },
    ]);
  });

  it('leaves the range open below when a view on the source has no TTL', () => {
    const open = { ...plan, views: plan.views.map((v) => ({ ...v, ttlSeconds: undefined })) };
    expect(
      partitionRanges(open, { min: '2026-03-06T00:00:00Z', max: '2026-03-06T00:00:00Z' })[0],
    ).toEqual({ source: 'customer_profiles', toDay: '2026-03-06' });
  });

  it('gives the days the statement’s SQL bounds compute, for the same rounded range (on DuckDB)', async () => {
    const session = await openDuckdb();
    try {
      for (const [min, max] of [
        ['2026-03-06T00:00:00.000001Z', '2026-03-10T23:59:59.9995Z'],
        ['2024-02-29T23:59:59.999Z', '2024-03-01T00:00:00Z'],
        ['2025-12-31T00:00:00.0004Z', '2026-01-01T00:00:00.0000001Z'],
      ] as const) {
        const ranges = partitionRanges(plan, { min, max });
        for (const range of ranges) {
          const lookback = { customer_profiles: 30, customer_contracts: 365, orders: 90 }[
            range.source
          ];
          // The statement binds the range widened to milliseconds.
          const bound = millisecondRange({ min, max });
          const [row] = await queryRows(
            session.connection,
            `SELECT CAST(CAST((TIMESTAMP '${timestampText(bound.min)}' - INTERVAL '${(lookback ?? 0) * 86_400}' SECOND) AS DATE) AS VARCHAR) AS low, CAST(CAST(TIMESTAMP '${timestampText(bound.max)}' AS DATE) AS VARCHAR) AS high`,
          );
          expect(
            { from: range.fromDay, to: range.toDay },
            `${range.source} ${min}..${max}`,
          ).toEqual({
            from: row?.low,
            to: row?.high,
          });
        }
      }
    } finally {
      session.close();
    }
  });

  it('tells whether a partition is in range', () => {
    const range = { source: 's', fromDay: '2026-03-01', toDay: '2026-03-06' };
    expect(
      ['2026-02-28', '2026-03-01', '2026-03-06', '2026-03-07'].map((dt) =>
        inPartitionRange(range, dt),
      ),
    ).toEqual([false, true, true, false]);
    expect(inPartitionRange({ source: 's', toDay: '2026-03-06' }, '2000-01-01')).toBe(true);
  });

  it('totals objects and bytes per partition in dt order', () => {
    expect(
      partitionTotals([
        { dt: '2026-03-02', bytes: 5 },
        { dt: '2026-03-01', bytes: 1 },
        { dt: '2026-03-02', bytes: 7 },
      ]),
    ).toEqual([
      { dt: '2026-03-01', objects: 1, bytes: 1 },
      { dt: '2026-03-02', objects: 2, bytes: 12 },
    ]);
    const days = ['2026-03-03', '2026-03-01', '2026-03-04', '2026-03-02'];
    expect(partitionTotals(days.map((dt) => ({ dt, bytes: 1 }))).map((p) => p.dt)).toEqual(
      [...days].sort(),
    );
  });
});

describe('Athena’s price estimate', () => {
  it('bills at least 10 MB per query', () => {
    expect(athenaQueryPrice(0)).toEqual({ billedBytes: 10 * mib, usd: (10 * 5) / 1024 ** 2 });
    expect(athenaQueryPrice(10 * mib - 1).billedBytes).toBe(10 * mib);
  });

  it('rounds up to the megabyte and charges $5 per TB', () => {
    expect(athenaQueryPrice(10 * mib + 1).billedBytes).toBe(11 * mib);
    expect(athenaQueryPrice(1024 ** 4).usd).toBe(5);
    expect(athenaQueryPrice(3 * 1024 ** 4 + 1).usd).toBeCloseTo(15, 5);
  });

  it('refuses a byte count that is not a non-negative number', () => {
    expect(() => athenaQueryPrice(-1)).toThrow(
      'bytes scanned must be a non-negative number, not -1',
    );
    expect(() => athenaQueryPrice(Number.NaN)).toThrow('not NaN');
  });
});

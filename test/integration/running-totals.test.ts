import { appendFile, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { ingestManifestPath, offlineRoot } from '../../lib/offline/local-layout.ts';
import { runningTotalsDir } from '../../lib/offline/running-totals.ts';
import { bucketsDir } from '../../lib/offline/running-totals-buckets.ts';
import {
  RUNNING_TOTALS_MIN_ENTITY_ROWS,
  runningTotalsViews,
} from '../../lib/offline/training-set.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { planPointInTime } from '../../lib/sql/point-in-time-plan.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', category: 'string', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const spend = defineAggregationView({
  name: 'spend',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum', 'count'], windows: ['7d'] } },
});
const variety = defineAggregationView({
  name: 'variety',
  entities: [customer],
  source: orders,
  aggregations: {
    category: { functions: ['count_distinct'], windows: ['7d'] },
    amount: { functions: ['last'], windows: ['7d'] },
  },
});

const t0 = Date.parse('2026-03-10T00:00:00Z');
const day = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const order = (ms: number, amount: number) => ({
  customer_id: 'C1',
  amount,
  category: 'a',
  event_ts: iso(ms),
});
const spendOf = (records: readonly Record<string, unknown>[] | undefined) =>
  records?.map((r) => ({ sum: r.amount_sum_7d, count: r.amount_count_7d }));

describe('running totals', () => {
  it('are built by ingest, rebuilt by the next training set when the stored rows change, and reused otherwise', async () => {
    const fixture = await offlineFixture([customer, orders, spend]);
    const dir = runningTotalsDir(offlineRoot(fixture.dataDir, 'local'), 'orders');
    await fixture.ingest('orders', [order(t0 - day, 10)]);
    expect((await readdir(dir)).filter((f) => f.endsWith('.parquet'))).toHaveLength(1);

    const phases: string[] = [];
    const query = () =>
      fixture.trainingSet([{ customer_id: 'C1', event_timestamp: iso(t0) }], {
        request: { features: ['spend:*'] },
        aggregations: 'running-totals',
        onPhase: (phase) => phases.push(phase),
      });
    expect(spendOf((await query()).records)).toEqual([{ sum: 10, count: 1 }]);
    expect(phases).not.toContain('building running totals');

    // Stored rows change behind the totals' back (an ingest that does not know the view):
    // its file and its commit (the manifest line) are copied over.
    const unaware = await offlineFixture([customer, orders]);
    await unaware.ingest('orders', [order(t0 - 2 * day, 5)]);
    const [file] = await readdir(path.join(offlineRoot(unaware.dataDir, 'local'), 'orders'), {
      recursive: true,
    }).then((names) => names.filter((n) => n.endsWith('.parquet')));
    await cp(
      path.join(offlineRoot(unaware.dataDir, 'local'), 'orders', file as string),
      path.join(offlineRoot(fixture.dataDir, 'local'), 'orders', file as string),
    );
    await appendFile(
      ingestManifestPath(fixture.dataDir, 'local'),
      await readFile(ingestManifestPath(unaware.dataDir, 'local'), 'utf8'),
    );
    expect(spendOf((await query()).records)).toEqual([{ sum: 15, count: 2 }]);
    expect(phases).toContain('building running totals');
    const totals = (await readdir(dir)).filter((f) => f.endsWith('.parquet'));
    expect(totals).toHaveLength(1);
    // The lookup's time buckets are those of the current totals and of the base they extend
    // (an increment); the superseded ones are gone. Two files each: the repeated rows and each
    // key's width.
    const owners = [...totals, ...(await readdir(path.join(dir, 'bases')))].map((name) =>
      path.basename(name, '.parquet'),
    );
    expect(owners).toHaveLength(2);
    const buckets = (await readdir(bucketsDir(dir))).sort();
    expect(buckets).toHaveLength(2 * owners.length);
    for (const owner of owners)
      expect(
        buckets.filter((name) => name.startsWith(`${owner}-`)),
        owner,
      ).toEqual([
        expect.stringMatching(/[0-9a-f]{16}\.keys\.parquet$/),
        expect.stringMatching(/[0-9a-f]{16}\.parquet$/),
      ]);
  });

  it('rewrite a damaged time-buckets file instead of failing, and remove buckets whose totals file is gone', async () => {
    const fixture = await offlineFixture([customer, orders, spend]);
    const dir = runningTotalsDir(offlineRoot(fixture.dataDir, 'local'), 'orders');
    await fixture.ingest('orders', [order(t0 - day, 10)]);
    const query = async () =>
      spendOf(
        (
          await fixture.trainingSet([{ customer_id: 'C1', event_timestamp: iso(t0) }], {
            request: { features: ['spend:*'] },
            aggregations: 'running-totals',
          })
        ).records,
      );
    expect(await query()).toEqual([{ sum: 10, count: 1 }]);
    const written = (await readdir(bucketsDir(dir))).sort();
    expect(written).toHaveLength(2);
    const orphans = ['gone-0123456789abcdef.parquet', 'gone-0123456789abcdef.keys.parquet'];
    for (const damaged of written) {
      const file = path.join(bucketsDir(dir), damaged);
      await writeFile(file, 'not parquet');
      for (const orphan of orphans)
        await writeFile(path.join(bucketsDir(dir), orphan), 'buckets of a gone totals file');
      expect(await query()).toEqual([{ sum: 10, count: 1 }]);
      expect((await readFile(file)).subarray(0, 4).toString()).toBe('PAR1');
      expect((await readdir(bucketsDir(dir))).sort()).toEqual(written);
    }
    // A keys file gone (or of the earlier one-width format) is written anew with its rows.
    await rm(path.join(bucketsDir(dir), written.find((f) => f.endsWith('.keys.parquet')) ?? ''));
    expect(await query()).toEqual([{ sum: 10, count: 1 }]);
    expect((await readdir(bucketsDir(dir))).sort()).toEqual(written);
  });

  it('answer as the range join when one row is backfilled 20 years before the rest, with every other key keeping buckets of its own rows', async () => {
    const fixture = await offlineFixture([customer, orders, spend]);
    const customers = ['C1', 'C2', 'C3', 'C4', 'C5'];
    const rows = customers.flatMap((customer_id, c) =>
      Array.from({ length: 40 }, (_, i) => ({
        ...order(t0 - 60 * day + i * 1.5 * day + c * 3_600_000, i + c),
        customer_id,
      })),
    );
    const backfilled = t0 - 20 * 365 * day;
    await fixture.ingest('orders', [...rows, order(backfilled, 7)]);
    const entities = customers.flatMap((customer_id) =>
      [backfilled + day, t0 - 30 * day, t0 - 2 * day, t0].map((ms) => ({
        customer_id,
        event_timestamp: iso(ms),
      })),
    );
    const query = async (aggregations: 'range-join' | 'running-totals') =>
      spendOf(
        (await fixture.trainingSet(entities, { request: { features: ['spend:*'] }, aggregations }))
          .records,
      );
    const totals = await query('running-totals');
    expect(totals).toEqual(await query('range-join'));
    expect(totals?.[0]).toEqual({ sum: 7, count: 1 });

    const dir = bucketsDir(runningTotalsDir(offlineRoot(fixture.dataDir, 'local'), 'orders'));
    const names = await readdir(dir);
    const keysFile = path.join(dir, names.find((n) => n.endsWith('.keys.parquet')) ?? '');
    const rowsFile = path.join(dir, names.find((n) => !n.endsWith('.keys.parquet')) ?? '');
    const session = await openDuckdb();
    try {
      const widths = await queryRows(
        session.connection,
        `SELECT customer_id, fstore_width FROM read_parquet('${keysFile}') ORDER BY customer_id`,
      );
      const [counts] = await queryRows(
        session.connection,
        `SELECT count(*) AS repeated FROM read_parquet('${rowsFile}')`,
      );
      // One width for all keys from the whole span (the earlier rule) was ~2 years here:
      // every key's 40 rows in one bucket. Each key's own width keeps its ~4 rows a bucket.
      const dayMicros = day * 1000;
      for (const { customer_id, fstore_width } of widths)
        expect(Number(fstore_width), `${customer_id}`).toBeLessThan(
          (customer_id === 'C1' ? 100 : 10) * dayMicros,
        );
      expect(Number(counts?.repeated)).toBeLessThanOrEqual(3 * rows.length + 1 + customers.length);
    } finally {
      session.close();
    }
  });

  it('are built for views running totals can answer in part, and not for a source no such view reads', async () => {
    const both = await offlineFixture([customer, orders, variety]);
    await both.ingest('orders', [order(t0, 1)]);
    const dir = runningTotalsDir(offlineRoot(both.dataDir, 'local'), 'orders');
    expect((await readdir(dir)).filter((f) => f.endsWith('.parquet'))).toHaveLength(1);

    const distinctOnly = defineAggregationView({
      name: 'distinct_only',
      entities: [customer],
      source: orders,
      aggregations: { category: { functions: ['count_distinct'], windows: ['7d'] } },
    });
    const none = await offlineFixture([customer, orders, distinctOnly]);
    await none.ingest('orders', [order(t0, 1)]);
    await expect(
      readdir(runningTotalsDir(offlineRoot(none.dataDir, 'local'), 'orders')),
    ).rejects.toThrow(/ENOENT/);
  });

  it('answer a view in part, its other functions by the range join, in one row per entity row', async () => {
    const mixed = defineAggregationView({
      name: 'mixed',
      entities: [customer],
      source: orders,
      aggregations: {
        amount: { functions: ['sum'], windows: ['7d'] },
        category: { functions: ['count_distinct'], windows: ['7d', '30d'] },
      },
    });
    const fixture = await offlineFixture([customer, orders, mixed]);
    await fixture.ingest('orders', [
      { ...order(t0 - day, 10), category: 'a' },
      { ...order(t0 - 2 * day, 5), category: 'b' },
      { ...order(t0 - 8 * day, 100), category: 'c' },
    ]);
    const entities = [iso(t0), iso(t0 - 2 * day + 1)].map((at) => ({
      customer_id: 'C1',
      event_timestamp: at,
    }));
    const features = async (aggregations: 'running-totals' | 'range-join') =>
      (
        await fixture.trainingSet(entities, { request: { features: ['mixed:*'] }, aggregations })
      ).records?.map((r) => [
        r.amount_sum_7d,
        r.category_count_distinct_7d,
        r.category_count_distinct_30d,
      ]);
    expect(await features('running-totals')).toEqual([
      [15, 2, 3],
      [105, 2, 2],
    ]);
    expect(await features('range-join')).toEqual(await features('running-totals'));
  });

  it('sum floats exactly: a window sum is the correctly rounded exact sum, bit for bit the range join', async () => {
    const windowSum = async (amounts: number[]) => {
      const fixture = await offlineFixture([customer, orders, spend]);
      // The first row is before the 7-day window, so totals subtract it out.
      await fixture.ingest(
        'orders',
        amounts.map((amount, i) => order(t0 - (i === 0 ? 10 : 3) * day + i, amount)),
      );
      const sum = async (aggregations: 'range-join' | 'running-totals') =>
        (
          await fixture.trainingSet([{ customer_id: 'C1', event_timestamp: iso(t0) }], {
            request: { features: ['spend:amount_sum_7d'] },
            aggregations,
          })
        ).records?.[0]?.amount_sum_7d as number;
      return { join: await sum('range-join'), totals: await sum('running-totals') };
    };
    // The exact sum of the doubles 0.2 and 0.1 rounds to 0.30000000000000004 (one IEEE
    // addition is correctly rounded), whatever the row before the window.
    const short = await windowSum([0.1, 0.2, 0.1]);
    expect(short.totals).toBe(0.2 + 0.1);
    expect(short.join).toBe(short.totals);

    // A double running sum would carry 1e6 / 3 and lose the 1e-12.
    const long = await windowSum([1e6 / 3, 1 / 3, 2 / 3, 1e-12]);
    expect(long.totals).toBe(long.join);
    // 1/3 + 2/3 is 1 - 2^-54 exactly, so the nearest double to the sum is just below 1 + 1e-12.
    expect(long.join).toBe(1.0000000000009999);
  });

  it('that cannot be built leave an ingest stored with a warning, and a training set on the range join unless asked for', async () => {
    const fixture = await offlineFixture([customer, orders, spend]);
    const dir = runningTotalsDir(offlineRoot(fixture.dataDir, 'local'), 'orders');
    await mkdir(path.dirname(dir), { recursive: true });
    await writeFile(dir, 'not a folder');

    const ingested = await fixture.ingest('orders', [order(t0 - day, 10)]);
    expect(ingested.rows).toBe(1);
    expect(ingested.warnings).toEqual([
      expect.stringMatching(
        /^running totals of "orders" were not built \(.+\); the next training set/,
      ),
    ]);
    const query = (aggregations: 'auto' | 'running-totals') =>
      fixture.trainingSet([{ customer_id: 'C1', event_timestamp: iso(t0) }], {
        request: { features: ['spend:*'] },
        aggregations,
        runningTotalsFromRows: 1,
      });
    await expect(query('running-totals')).rejects.toThrow(
      /running totals of view "spend" could not be built/,
    );
    const auto = await query('auto');
    expect(spendOf(auto.records)).toEqual([{ sum: 10, count: 1 }]);
    expect(auto.sql).not.toContain('_running_totals');
  });

  it('are chosen automatically only for large entity sets whose requested functions they all answer', () => {
    const registry = compileRegistry(
      [customer, orders, spend, variety].map((definition) => ({ definition })),
    );
    const plan = (features: string[]) =>
      planPointInTime(registry, { features }, { entityTimestampColumn: 'event_timestamp' });
    const chosen = (
      features: string[],
      rows: number,
      options: Parameters<typeof runningTotalsViews>[1] = {},
    ) => runningTotalsViews(plan(features), options, rows).map((v) => v.view);
    const many = RUNNING_TOTALS_MIN_ENTITY_ROWS;

    expect(chosen(['spend:*', 'variety:*'], many)).toEqual(['spend']);
    expect(chosen(['spend:*'], many - 1)).toEqual([]);
    expect(chosen(['spend:*'], 10, { runningTotalsFromRows: 10 })).toEqual(['spend']);
    expect(chosen(['variety:amount_last_7d'], many)).toEqual(['variety']);
    expect(chosen(['spend:*'], many, { aggregations: 'range-join' })).toEqual([]);
    expect(chosen(['spend:*'], many, { strategy: 'merge-window' })).toEqual([]);
    expect(chosen(['variety:*'], 1, { aggregations: 'running-totals' })).toEqual(['variety']);
    expect(
      chosen(['variety:category_count_distinct_7d'], 1, { aggregations: 'running-totals' }),
    ).toEqual([]);
  });
});

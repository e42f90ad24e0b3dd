import { describe, expect, it } from 'vitest';
import {
  type AggregationFunction,
  defineAggregationView,
  defineEntity,
  defineSource,
} from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import type { PointInTimeStrategy } from '../../lib/sql/render-training-set.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: {
    customer_id: 'string',
    amount: 'float64',
    items: 'int64',
    category: 'string',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const functions: AggregationFunction[] = [
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'last',
  'days_since_last',
];
const stats = defineAggregationView({
  name: 'order_stats',
  entities: [customer],
  source: orders,
  aggregations: {
    amount: { functions, windows: ['1h', '7d', '30d'] },
    items: { functions: ['sum', 'count'], windows: ['7d'] },
    category: { functions: ['count_distinct', 'last', 'count'], windows: ['7d', '30d'] },
  },
});
/** Several windows in one view: each window's edge is then the SQL's, not the source pre-filter's. */
const edgeStats = defineAggregationView({
  name: 'edge_stats',
  entities: [customer],
  source: orders,
  aggregations: {
    amount: { functions, windows: ['1d', '7d', '30d'] },
    category: { functions: ['count_distinct', 'count', 'last'], windows: ['1d', '7d', '30d'] },
  },
});

// Times are epoch microseconds (safe integers), so rows and entity times can differ by 1µs.
const day = 86_400_000_000;
const t0 = Number(epochMicrosOf('2026-03-01T00:00:00Z'));
const iso = (micros: number) => formatMicros(BigInt(micros));
const micros = (text: string) => Number(epochMicrosOf(text));
type Row = {
  customer_id: string;
  amount: number | null;
  items: number | null;
  category: string | null;
  event_ts: string;
  created_ts: string;
};
const order = (ms: number, amount: number | null, over: Partial<Row> = {}): Row => ({
  customer_id: 'C1',
  amount,
  items: 1,
  category: 'a',
  event_ts: iso(ms),
  created_ts: iso(ms),
  ...over,
});

interface Computation {
  readonly strategy: PointInTimeStrategy;
  readonly aggregations: 'range-join' | 'running-totals';
}

async function aggregatesAt(
  { strategy, aggregations }: Computation,
  rows: Row[],
  entities: { customer_id: string; at: number }[],
  features: string[],
  view: typeof stats = stats,
) {
  const fixture = await offlineFixture([customer, orders, stats, edgeStats], strategy);
  if (rows.length > 0) await fixture.ingest('orders', rows);
  const result = await fixture.trainingSet(
    entities.map((e) => ({ customer_id: e.customer_id, event_timestamp: iso(e.at) })),
    { request: { features: features.map((f) => `${view.name}:${f}`) }, aggregations },
  );
  if (rows.length > 0)
    expect(result.sql.includes('_running_totals')).toBe(aggregations === 'running-totals');
  expect(result.sql.includes('RANGE BETWEEN')).toBe(strategy === 'merge-window');
  return (result.records ?? []).map((r) => Object.fromEntries(features.map((f) => [f, r[f]])));
}

// The three ways DuckDB computes a window: the range join (asof strategy), running totals (asof
// strategy; min, max and count_distinct still by the range join) and the one-sort window form
// (merge-window strategy, the SQL Athena runs; it ignores the `aggregations` option).
describe.each([
  { mode: 'range join (asof strategy)', strategy: 'asof', aggregations: 'range-join' },
  { mode: 'running totals (asof strategy)', strategy: 'asof', aggregations: 'running-totals' },
  {
    mode: 'window form (merge-window strategy)',
    strategy: 'merge-window',
    aggregations: 'range-join',
  },
] as const)('windowed aggregation features offline (DuckDB), by $mode', (computation) => {
  it('counts an event exactly at t - W out and an event at t in', async () => {
    const rows = [order(t0 - 7 * day, 10), order(t0 - 7 * day + 1, 20), order(t0, 40)];
    const [at] = await aggregatesAt(
      computation,
      rows,
      [{ customer_id: 'C1', at: t0 }],
      ['amount_count_7d', 'amount_sum_7d', 'amount_min_7d', 'amount_max_7d'],
    );
    expect(at).toEqual({
      amount_count_7d: 2,
      amount_sum_7d: 60,
      amount_min_7d: 20,
      amount_max_7d: 40,
    });
  });

  it('holds every window edge with 1d, 7d and 30d asked at once: an event at t - W is out, one 1 s later is in', async () => {
    const second = 1_000_000;
    const windows = { '1d': day, '7d': 7 * day, '30d': 30 * day };
    // Per window W, one customer whose only event is exactly at t0 - W, one 1 s inside it, and
    // customer MIX with all six; amounts are powers of two, so a sum names its events.
    const events = Object.entries(windows).flatMap(([w, ms], i) => [
      { name: `out_${w}`, ts: t0 - ms, amount: 4 ** i, category: `o${w}` },
      { name: `in_${w}`, ts: t0 - ms + second, amount: 2 * 4 ** i, category: `i${w}` },
    ]);
    const rows = events.flatMap((e) => [
      order(e.ts, e.amount, { customer_id: e.name, category: e.category }),
      order(e.ts, e.amount, { customer_id: 'MIX', category: e.category }),
    ]);
    // MIX also at t0 - 10d: the earliest entity time moves the source pre-filter 10 days back,
    // so not even the widest window's edge at t0 is the pre-filter's.
    const entities = [
      ...events.map((e) => ({ customer_id: e.name, at: t0 })),
      { customer_id: 'MIX', at: t0 },
      { customer_id: 'MIX', at: t0 - 10 * day },
    ];
    const features = edgeStats.aggregations?.map((a) => a.feature) ?? [];
    expect(features).toHaveLength(30);
    const actual = await aggregatesAt(computation, rows, entities, features, edgeStats);
    type Expected = { amounts: number[]; categories: string[]; lastAge: number | null };
    const of = (amounts: number[], categories: string[], lastAge: number | null): Expected => ({
      amounts,
      categories,
      lastAge,
    });
    const featuresOf = (w: string, e: Expected) => {
      const sum = e.amounts.reduce((a, b) => a + b, 0);
      const some = e.amounts.length > 0;
      return {
        [`amount_count_${w}`]: e.amounts.length,
        [`amount_sum_${w}`]: some ? sum : null,
        [`amount_avg_${w}`]: some ? sum / e.amounts.length : null,
        [`amount_min_${w}`]: some ? Math.min(...e.amounts) : null,
        [`amount_max_${w}`]: some ? Math.max(...e.amounts) : null,
        [`amount_last_${w}`]: some ? e.amounts.at(-1) : null,
        [`amount_days_since_last_${w}`]: e.lastAge === null ? null : e.lastAge / day,
        [`category_count_distinct_${w}`]: e.categories.length,
        [`category_count_${w}`]: e.categories.length,
        [`category_last_${w}`]: e.categories.at(-1) ?? null,
      };
    };
    const expected = [
      ...events.map((e) =>
        Object.assign(
          {},
          ...Object.entries(windows).map(([w, ms]) =>
            featuresOf(
              w,
              t0 - e.ts < ms ? of([e.amount], [e.category], t0 - e.ts) : of([], [], null),
            ),
          ),
        ),
      ),
      {
        // In event-time order: the 30d pair, the 7d pair, the 1d pair (the last is 1 d - 1 s old).
        ...featuresOf('1d', of([2], ['i1d'], day - second)),
        ...featuresOf('7d', of([8, 1, 2], ['i7d', 'o1d', 'i1d'], day - second)),
        ...featuresOf(
          '30d',
          of([32, 4, 8, 1, 2], ['i30d', 'o7d', 'i7d', 'o1d', 'i1d'], day - second),
        ),
      },
      {
        ...featuresOf('1d', of([], [], null)),
        ...featuresOf('7d', of([], [], null)),
        ...featuresOf('30d', of([16, 32], ['o30d', 'i30d'], 20 * day - second)),
      },
    ];
    expect(actual).toHaveLength(expected.length);
    for (const [index, row] of expected.entries())
      for (const [feature, value] of Object.entries(row)) {
        const got = actual[index]?.[feature];
        const entity = entities[index];
        const who = `${entity?.customer_id} at t0 - ${(t0 - (entity?.at ?? 0)) / day}d: ${feature}`;
        if (typeof value === 'number' && typeof got === 'number')
          expect(got, who).toBeCloseTo(value, 9);
        else expect(got, who).toEqual(value);
      }
  });

  it('gives count 0 and NULL for every other function on an empty window, and for entities with no rows', async () => {
    const rows = [order(t0 - 10 * day, 10)];
    const features = [
      'amount_count_7d',
      'amount_sum_7d',
      'amount_avg_7d',
      'amount_last_7d',
      'amount_days_since_last_7d',
      'category_count_distinct_7d',
    ];
    const result = await aggregatesAt(
      computation,
      rows,
      [
        { customer_id: 'C1', at: t0 },
        { customer_id: 'C9', at: t0 },
      ],
      features,
    );
    const empty = {
      amount_count_7d: 0,
      amount_sum_7d: null,
      amount_avg_7d: null,
      amount_last_7d: null,
      amount_days_since_last_7d: null,
      category_count_distinct_7d: 0,
    };
    expect(result).toEqual([empty, empty]);
  });

  it('decays: values fall as events leave the window, never reading events after t', async () => {
    const rows = [order(t0, 5), order(t0 + 2 * day, 7)];
    const at = (ms: number) => ({ customer_id: 'C1', at: ms });
    const result = await aggregatesAt(
      computation,
      rows,
      [at(t0 + day), at(t0 + 6 * day), at(t0 + 7 * day), at(t0 + 9 * day + 1)],
      ['amount_sum_7d', 'amount_count_7d', 'amount_days_since_last_7d'],
    );
    expect(result).toEqual([
      { amount_sum_7d: 5, amount_count_7d: 1, amount_days_since_last_7d: 1 },
      { amount_sum_7d: 12, amount_count_7d: 2, amount_days_since_last_7d: 4 },
      { amount_sum_7d: 7, amount_count_7d: 1, amount_days_since_last_7d: 5 },
      { amount_sum_7d: null, amount_count_7d: 0, amount_days_since_last_7d: null },
    ]);
  });

  it('takes `last` by the winner rule: created time, then ingestion order, breaks ties at one event time', async () => {
    const rows = [
      order(t0 - day, 1, { created_ts: iso(t0 - day + 5) }),
      order(t0 - day, 2, { created_ts: iso(t0 - day + 9) }),
      order(t0 - day, 3, { created_ts: iso(t0 - day + 1) }),
      order(t0 - 2 * day, null, { category: 'z' }),
    ];
    const [at] = await aggregatesAt(
      computation,
      rows,
      [{ customer_id: 'C1', at: t0 }],
      ['amount_last_7d', 'category_last_7d', 'amount_count_7d', 'category_count_7d'],
    );
    expect(at).toEqual({
      amount_last_7d: 2,
      category_last_7d: 'a',
      amount_count_7d: 3,
      category_count_7d: 4,
    });
  });

  it('matches a brute-force reference for every function and window on random data', async () => {
    const prng = new Prng(11);
    const rows: Row[] = [];
    for (let i = 0; i < 600; i++) {
      const ts = t0 - 40 * day + Math.floor(prng.next() * 45 * day);
      rows.push({
        customer_id: `C${prng.int(1, 8)}`,
        amount: prng.chance(0.1) ? null : Math.round(prng.next() * 10_000) / 100,
        items: prng.chance(0.1) ? null : prng.int(0, 5),
        category: prng.chance(0.1) ? null : (['a', 'b', 'c', 'd'][prng.int(0, 3)] as string),
        event_ts: iso(
          prng.chance(0.1) && rows.length > 0
            ? micros(rows[rows.length - 1]?.event_ts as string)
            : ts,
        ),
        created_ts: iso(ts + prng.int(0, 3) * 1000),
      });
    }
    const entities = Array.from({ length: 150 }, () => {
      if (prng.chance(0.3)) {
        // At a row's time or a window's edge after it, or 1µs to either side.
        const near = rows[prng.int(0, rows.length - 1)] as Row;
        const edge = prng.pick([0, 3600, 7 * 86_400, 30 * 86_400]) * 1_000_000;
        return {
          customer_id: near.customer_id,
          at: micros(near.event_ts) + edge + prng.pick([-1, 0, 1]),
        };
      }
      return {
        customer_id: `C${prng.int(1, 9)}`,
        at: t0 - 35 * day + Math.floor(prng.next() * 40 * day),
      };
    });
    const features = stats.aggregations?.map((a) => a.feature) ?? [];
    const actual = await aggregatesAt(computation, rows, entities, features);
    const seqOf = new Map(rows.map((r, i) => [r, i]));
    const expected = entities.map((e) =>
      Object.fromEntries(
        (stats.aggregations ?? []).map((a) => {
          const inWindow = rows.filter((r) => {
            const ts = micros(r.event_ts);
            return (
              r.customer_id === e.customer_id &&
              ts > e.at - a.windowSeconds * 1_000_000 &&
              ts <= e.at
            );
          });
          const values = inWindow.map((r) => r[a.column as 'amount']).filter((v) => v !== null) as (
            | number
            | string
          )[];
          const latest = inWindow
            .filter((r) => r[a.column as 'amount'] !== null)
            .sort(
              (x, y) =>
                micros(x.event_ts) - micros(y.event_ts) ||
                micros(x.created_ts) - micros(y.created_ts) ||
                (seqOf.get(x) ?? 0) - (seqOf.get(y) ?? 0),
            )
            .at(-1);
          const numbers = values as number[];
          const value = {
            count: values.length,
            count_distinct: new Set(values).size,
            sum: numbers.length ? numbers.reduce((s, v) => s + v, 0) : null,
            avg: numbers.length ? numbers.reduce((s, v) => s + v, 0) / numbers.length : null,
            min: numbers.length ? Math.min(...numbers) : null,
            max: numbers.length ? Math.max(...numbers) : null,
            last: latest ? latest[a.column as 'amount'] : null,
            days_since_last: latest ? (e.at - micros(latest.event_ts)) / day : null,
          }[a.function];
          return [a.feature, value];
        }),
      ),
    );
    for (const [index, row] of expected.entries())
      for (const [feature, value] of Object.entries(row)) {
        const got = actual[index]?.[feature];
        if (typeof value === 'number' && typeof got === 'number')
          expect(got, `entity ${index} ${feature}`).toBeCloseTo(value, 6);
        else expect(got, `entity ${index} ${feature}`).toEqual(value);
      }
  });
});

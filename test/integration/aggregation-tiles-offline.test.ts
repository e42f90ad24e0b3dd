import { describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { type TileReader, windowValue } from '../../lib/online/aggregation-tiles/combine-window.ts';
import { tilesOfEvent } from '../../lib/online/aggregation-tiles/tile-sizes.ts';
import {
  emptyTileState,
  mergeTileStates,
  type SumKind,
  stateOfEvent,
  sumKindOf,
  type TileEvent,
  type TileState,
} from '../../lib/online/aggregation-tiles/tile-state.ts';
import type { TileValue } from '../../lib/online/aggregation-tiles/tile-values.ts';
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
const stats = defineAggregationView({
  name: 'tile_stats',
  entities: [customer],
  source: orders,
  aggregations: {
    amount: {
      functions: ['count', 'sum', 'avg', 'min', 'max', 'last', 'days_since_last'],
      windows: ['90s', '10m', '1h', '1d', '7d'],
    },
    items: { functions: ['count', 'sum', 'avg', 'min', 'max', 'last'], windows: ['1h', '3d'] },
    category: { functions: ['count', 'min', 'max', 'last'], windows: ['1d'] },
  },
});

const second = 1_000_000n;
const minute = 60n * second;
const day = 86_400n * second;
const t0 = epochMicrosOf('2026-03-01T00:00:00Z');
const ids = ['C0', 'C1', 'C2', 'C3'];

type Row = {
  customer_id: string;
  amount: number | null;
  items: number | null;
  category: string | null;
  event_ts: string;
  created_ts: string | null;
};

/** An event time: often a random microsecond, sometimes on a minute, hour or day edge. */
function eventTime(prng: Prng): bigint {
  const at = t0 - BigInt(Math.floor(prng.next() * 8 * 86_400_000_000));
  const edge = prng.int(0, 5);
  if (edge === 0) return at - (at % minute);
  if (edge === 1) return at - (at % (60n * minute));
  return at;
}

/** A double of random sign, mantissa and magnitude within the offline exact-sum boundary. */
function amount(prng: Prng): number | null {
  if (prng.next() < 0.1) return null;
  const mantissa = Math.floor(prng.next() * 2 ** 53) * (prng.next() < 0.3 ? -1 : 1);
  return mantissa * 2 ** prng.int(-80, -20);
}

function generated(prng: Prng): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < 400; i++) {
    const previous = rows[prng.int(0, Math.max(0, rows.length - 1))];
    // Some rows tie with an earlier one on event time (and created time): rule 2 decides.
    const tie = previous !== undefined && prng.next() < 0.1;
    const at = tie ? epochMicrosOf(previous.event_ts) : eventTime(prng);
    const created = tie
      ? previous.created_ts
      : prng.next() < 0.3
        ? null
        : formatMicros(at + BigInt(prng.int(0, 5)));
    rows.push({
      customer_id: tie ? previous.customer_id : (ids[prng.int(0, ids.length - 1)] ?? 'C0'),
      amount: amount(prng),
      items: prng.next() < 0.1 ? null : prng.int(-1000, 1000),
      category:
        prng.next() < 0.1 ? null : (['a', 'b', 'ä', 'z', '😀', '\uff5e'][prng.int(0, 5)] ?? 'a'),
      event_ts: formatMicros(at),
      created_ts: created,
    });
  }
  return rows;
}

/** Tiles of every size and raw events per entity and column, built row by row as writes would. */
function tilesOf(rows: readonly Row[]) {
  const tiles = new Map<string, TileState>();
  const events = new Map<string, { event: TileEvent }[]>();
  rows.forEach((row, index) => {
    for (const column of ['amount', 'items', 'category'] as const) {
      const kind = kindOf(column);
      const event: TileEvent = {
        eventMicros: epochMicrosOf(row.event_ts),
        createdMicros: row.created_ts === null ? null : epochMicrosOf(row.created_ts),
        seq: BigInt(index),
        value: row[column],
      };
      for (const tile of tilesOfEvent(event.eventMicros)) {
        const key = `${row.customer_id}|${column}|${tile.size}|${tile.start}`;
        tiles.set(
          key,
          mergeTileStates(tiles.get(key) ?? emptyTileState(kind), stateOfEvent(kind, event)),
        );
      }
      const raw = `${row.customer_id}|${column}`;
      events.set(raw, [...(events.get(raw) ?? []), { event }]);
    }
  });
  return (entity: string, column: string): TileReader => ({
    tile: ({ size, start }) =>
      tiles.get(`${entity}|${column}|${size}|${start}`) ?? emptyTileState(kindOf(column)),
    events: (from, until) =>
      (events.get(`${entity}|${column}`) ?? [])
        .map((e) => e.event)
        .filter((e) => e.eventMicros >= from && e.eventMicros < until),
  });
}

const kindOf = (column: string): SumKind =>
  sumKindOf(orders.schema.find((c) => c.name === column)?.type ?? 'string');

/** Instants: random microseconds, event times, and event times plus a window (the edges). */
function instants(prng: Prng, rows: readonly Row[]) {
  const windows = [90n * second, 10n * minute, 60n * minute, day, 3n * day, 7n * day];
  return Array.from({ length: 240 }, (_, i) => {
    const row = rows[prng.int(0, rows.length - 1)];
    const id = ids[prng.int(0, ids.length - 1)] ?? 'C0';
    const w = windows[prng.int(0, windows.length - 1)] ?? day;
    if (row === undefined || i % 3 === 0)
      return {
        customer_id: id,
        at: t0 - BigInt(Math.floor(prng.next() * 9 * 86_400_000_000)) + day,
      };
    const at = epochMicrosOf(row.event_ts) + (i % 3 === 1 ? 0n : w) + BigInt(prng.int(-1, 1));
    return { customer_id: row.customer_id, at };
  });
}

const same = (got: TileValue | null, want: unknown) => {
  if (typeof got === 'bigint' || typeof want === 'bigint')
    return BigInt(got as bigint) === BigInt(want as bigint);
  if (typeof got === 'number' && typeof want === 'number') return Object.is(got, want);
  return got === (want ?? null);
};

describe('aggregation tiles against the training-set SQL on DuckDB', () => {
  const modes = [
    { mode: 'range join', strategy: 'asof', aggregations: 'range-join' },
    { mode: 'running totals', strategy: 'asof', aggregations: 'running-totals' },
    { mode: 'window form', strategy: 'merge-window', aggregations: 'range-join' },
  ] as const;

  it('gives every feature bit for bit at random instants, window edges included, from tiles and raw edge events', async () => {
    const prng = new Prng(2020);
    const rows = generated(prng);
    const entityRows = instants(prng, rows);
    const fixture = await offlineFixture([customer, orders, stats]);
    await fixture.ingest('orders', rows);
    const reader = tilesOf(rows);
    const aggregations = stats.aggregations ?? [];
    const online = entityRows.map((e) =>
      aggregations.map((a) =>
        windowValue(
          a.function,
          kindOf(a.column),
          a.windowSeconds,
          e.at,
          reader(e.customer_id, a.column),
        ),
      ),
    );
    for (const { mode, strategy, aggregations: how } of modes) {
      const offline = await fixture.trainingSet(
        entityRows.map((e) => ({
          customer_id: e.customer_id,
          event_timestamp: formatMicros(e.at),
        })),
        {
          request: { features: aggregations.map((a) => `tile_stats:${a.feature}`) },
          strategy,
          aggregations: how,
        },
      );
      const mismatches: string[] = [];
      entityRows.forEach((e, i) => {
        aggregations.forEach((a, j) => {
          const want = offline.records?.[i]?.[a.feature] ?? null;
          const got = online[i]?.[j] ?? null;
          if (!same(got, want))
            mismatches.push(
              `${e.customer_id} ${a.feature} at ${formatMicros(e.at)}: ${String(got)} vs ${String(want)}`,
            );
        });
      });
      expect(mismatches.slice(0, 10), mode).toEqual([]);
    }
    // The data reaches every kind of piece: whole tiles of each size and raw edges, non-empty.
    const nonEmpty = online.flat().filter((v) => v !== null && v !== 0).length;
    expect(nonEmpty).toBeGreaterThan(online.flat().length / 3);
  }, 300_000);
});

import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../lib/demo/prng.ts';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { windowValue } from '../../lib/online/aggregation-tiles/combine-window.ts';
import { finalValue } from '../../lib/online/aggregation-tiles/final-value.ts';
import {
  emptyTileState,
  mergeTileStates,
  stateOfEvent,
} from '../../lib/online/aggregation-tiles/tile-state.ts';
import {
  tileReaderOfItems,
  windowItemKeys,
} from '../../lib/online/aggregation-tiles/window-items.ts';
import {
  applyRowToTiles,
  type TileRow,
} from '../../lib/online/aggregation-tiles/write-row-tiles.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';

const t0 = epochMicrosOf('2026-03-01T00:00:00Z');
const prefix = 'order_stats#v1#customer_id=C1';
const functions = ['count', 'sum', 'avg', 'min', 'max', 'last', 'days_since_last'] as const;
const windows = [90, 600, 3_600, 86_400, 3 * 86_400];

describe('aggregation tiles written to dynalite and read back for a window', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  it('gives every function over (t - W, t] what the rows themselves give, at random instants and edges', async () => {
    const table = 'fstore-tiles-read';
    await ensureLocalTable(client, table);
    const target = {
      client,
      table,
      prefix,
      sumKinds: { amount: 'float' as const },
      widestWindowSeconds: 3 * 86_400,
    };
    const prng = new Prng(2021);
    const rows: TileRow[] = Array.from({ length: 60 }, (_, i) => ({
      id: `push${i}:0`,
      eventMicros: t0 - BigInt(Math.floor(prng.next() * 2 * 86_400_000_000)),
      createdMicros: null,
      seq: BigInt(i),
      values: {
        amount:
          prng.next() < 0.1 ? null : Math.floor(prng.next() * 2 ** 53) * 2 ** -prng.int(20, 60),
      },
    }));
    for (const row of rows) await applyRowToTiles(target, row);
    const instants = Array.from({ length: 30 }, (_, i) => {
      const row = rows[prng.int(0, rows.length - 1)];
      const w = BigInt(windows[prng.int(0, windows.length - 1)] ?? 90) * 1_000_000n;
      if (row === undefined || i % 3 === 0)
        return t0 - BigInt(Math.floor(prng.next() * 2.2 * 86_400_000_000));
      return row.eventMicros + (i % 3 === 1 ? 0n : w);
    });
    let itemsRead = 0;
    const mismatches: string[] = [];
    for (const at of instants) {
      const keys = windowItemKeys(prefix, at, windows);
      itemsRead += keys.length;
      const items = new Map();
      for (const key of keys) {
        const { Item } = await client.send(
          new GetItemCommand({ TableName: table, Key: { pk: { S: key } } }),
        );
        if (Item) items.set(key, Item);
      }
      const reader = tileReaderOfItems(items, prefix, 'amount', 'float');
      for (const seconds of windows) {
        const from = at - BigInt(seconds) * 1_000_000n;
        const inWindow = rows.filter((r) => r.eventMicros > from && r.eventMicros <= at);
        const state = inWindow.reduce(
          (s, r) =>
            mergeTileStates(s, stateOfEvent('float', { ...r, value: r.values.amount ?? null })),
          emptyTileState('float'),
        );
        for (const fn of functions) {
          const want = finalValue(fn, state, at);
          const got = windowValue(fn, 'float', seconds, at, reader);
          if (!Object.is(got, want))
            mismatches.push(`${fn} ${seconds}s at ${at}: ${got} vs ${want}`);
        }
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    // Items per lookup of five windows (90s to 3d), upper edge shared.
    expect(itemsRead / instants.length).toBeLessThanOrEqual(16);
  }, 300_000);

  it('names the keys of a 10m, 1d and 30d lookup: at most 14 items', () => {
    const at = epochMicrosOf('2026-03-01T10:20:30.123456Z');
    const keys = windowItemKeys(prefix, at, [600, 86_400, 30 * 86_400]);
    expect(keys.length).toBeLessThanOrEqual(14);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

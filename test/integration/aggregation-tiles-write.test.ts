import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { startDynalite } from '../../lib/local/dynalite-server.ts';
import { finalValue } from '../../lib/online/aggregation-tiles/final-value.ts';
import { blockItemKey, tileAttribute } from '../../lib/online/aggregation-tiles/tile-items.ts';
import {
  dayMicros,
  hourMicros,
  minuteMicros,
  tileStart,
} from '../../lib/online/aggregation-tiles/tile-sizes.ts';
import { stateOfEvent } from '../../lib/online/aggregation-tiles/tile-state.ts';
import { decodeTileStates } from '../../lib/online/aggregation-tiles/tile-state-codec.ts';
import {
  applyRowToTiles,
  carryTileUp,
  recordRowInMinuteItem,
  type TileRow,
  type TileWriteTarget,
} from '../../lib/online/aggregation-tiles/write-row-tiles.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';

const t0 = epochMicrosOf('2026-03-01T10:20:30.123456Z');
const row = (id: string, eventMicros: bigint, amount: number | null, seq = 1n): TileRow => ({
  id,
  eventMicros,
  createdMicros: null,
  seq,
  values: { amount, category: amount === null ? null : `c${id}` },
});

describe('writing pushed rows into aggregation tiles (dynalite)', () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let client: ReturnType<typeof localDynamoClient>;
  let tables = 0;
  beforeAll(async () => {
    server = await startDynalite();
    client = localDynamoClient(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  async function target(): Promise<TileWriteTarget> {
    const table = `fstore-tiles-${tables++}`;
    await ensureLocalTable(client, table);
    return {
      client,
      table,
      prefix: 'order_stats#v1#customer_id=C1',
      sumKinds: { amount: 'float', category: 'none' },
      widestWindowSeconds: 30 * 86_400,
    };
  }

  /** The state of the tile of `size` holding `at`, read from its block item's entry. */
  async function tileAt(t: TileWriteTarget, size: bigint, at: bigint) {
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: t.table,
        Key: { pk: { S: blockItemKey(t.prefix, size, at) } },
        ConsistentRead: true,
      }),
    );
    const entry = Item?.[tileAttribute(tileStart(at, size))]?.M?.s?.S;
    return { item: Item, states: entry === undefined ? {} : decodeTileStates(entry, 'test') };
  }

  it('counts a row in its minute, hour and day tiles with the exact sum, and a retried push not again', async () => {
    const t = await target();
    const rows = [
      row('p1:0', t0, 0.1, 1n),
      row('p1:1', t0 + 1n, 0.2, 2n),
      row('p2:0', t0 + 2n * hourMicros, -0.3, 3n),
      row('p2:1', t0 + 3n, null, 4n),
    ];
    for (const r of rows) expect((await applyRowToTiles(t, r)).applied).toBe(true);
    const hourBlock = await tileAt(t, minuteMicros, t0);
    const before = hourBlock.item?.ver?.N;
    // The same push runs again (its answer was lost): nothing counts twice, no block changes.
    for (const r of rows) expect((await applyRowToTiles(t, r)).applied).toBe(false);
    expect((await tileAt(t, minuteMicros, t0)).item?.ver?.N).toBe(before);
    const amount = (await tileAt(t, hourMicros, t0)).states.amount;
    const day = (await tileAt(t, dayMicros, t0)).states.amount;
    if (!amount || !day) throw new Error('no amount state');
    // The hour of t0 holds 0.1 and 0.2 (the NULL counts for nothing); the day all three.
    expect(finalValue('count', amount, t0)).toBe(2);
    expect(finalValue('sum', amount, t0)).toBe(0.30000000000000004);
    expect(finalValue('count', day, t0)).toBe(3);
    // Exact: 0.1 + 0.2 - 0.3 rounded once, not (0.1 + 0.2) - 0.3 = 5.551115123125783e-17.
    expect(finalValue('sum', day, t0)).toBe(2.7755575615628914e-17);
    expect(finalValue('last', day, t0 + 3n * hourMicros)).toBe(-0.3);
  });

  it('completes a write that died after its minute item: the retry carries the minute up once', async () => {
    const t = await target();
    const first = row('p9:0', t0, 5);
    await recordRowInMinuteItem(t, first);
    expect((await tileAt(t, minuteMicros, t0)).item).toBeUndefined();
    expect((await applyRowToTiles(t, first)).applied).toBe(false);
    const day = (await tileAt(t, dayMicros, t0)).states.amount;
    if (!day) throw new Error('no amount state');
    expect(finalValue('count', day, t0)).toBe(1);
    expect(finalValue('sum', day, t0)).toBe(5);
  });

  it('ends with every row counted once when writers of one entity race', async () => {
    const t = await target();
    const rows = Array.from({ length: 24 }, (_, i) =>
      row(`p${i}:0`, t0 + BigInt(i % 3) * minuteMicros + BigInt(i), i + 1, BigInt(i)),
    );
    await Promise.all([...rows, ...rows.slice(0, 6)].map((r) => applyRowToTiles(t, r)));
    const day = (await tileAt(t, dayMicros, t0)).states.amount;
    if (!day) throw new Error('no amount state');
    expect(finalValue('count', day, t0)).toBe(24);
    expect(finalValue('sum', day, t0)).toBe((24 * 25) / 2);
    expect(finalValue('max', day, t0)).toBe(24);
  });

  it('never lets an older version of a tile, carried up late, replace a newer one', async () => {
    const t = await target();
    const start = tileStart(t0, minuteMicros);
    const stateOf = (amount: number) => ({
      amount: stateOfEvent('float', {
        eventMicros: t0,
        createdMicros: null,
        seq: 1n,
        value: amount,
      }),
    });
    await carryTileUp(t, minuteMicros, start, { states: stateOf(2), version: 2 });
    const late = await carryTileUp(t, minuteMicros, start, { states: stateOf(1), version: 1 });
    const amount = (await tileAt(t, minuteMicros, t0)).states.amount;
    if (!amount || !late.states.amount) throw new Error('no amount state');
    expect(finalValue('sum', amount, t0)).toBe(2);
    expect(finalValue('sum', late.states.amount, t0)).toBe(2);
  });

  it('writes no row that no window can reach any more: at or before now - the widest window', async () => {
    const t = { ...(await target()), nowMicros: () => t0 + 30n * dayMicros };
    expect(await applyRowToTiles(t, row('old:0', t0, 1))).toEqual({ applied: false, tooOld: true });
    expect((await tileAt(t, minuteMicros, t0)).item).toBeUndefined();
    expect((await applyRowToTiles(t, row('new:0', t0 + 1n, 1))).applied).toBe(true);
  });
});

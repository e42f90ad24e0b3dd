import {
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { TileItemCache } from '../../lib/online/aggregation-tiles/tile-item-cache.ts';
import type { BatchGetItems } from '../../lib/online/dynamodb-batch-get/batch-get-items.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileRegistry } from '../helpers/tile-registry.ts';

const registry = tileRegistry();
const features = (registry.featureViews.find((v) => v.name === 'spend')?.aggregations ?? [])
  .filter((a) => a.function !== 'count_distinct')
  .map((a) => ({ feature: a.feature, outputName: a.feature }));
const minute = 60_000_000n;
const at = epochMicrosOf('2026-03-01T12:00:30.250000Z');
const atMs = Number(at / 1000n);
const ago = (minutes: bigint, micros = 7n) => formatMicros(at - minutes * minute - micros);
let dynamo: LocalDynamo;
let client: DynamoDBClient;
const table = 'fstore-tiles-cold-lookup';

const push = (rows: Record<string, unknown>[]) =>
  executePush(
    { registry, online: { client, table }, now: () => atMs },
    defaultPushLimits,
    'payments',
    { rows, to: 'online' },
  );

const send = (input: BatchGetItemCommandInput) => client.send(new BatchGetItemCommand(input));

/**
 * A BatchGetItem that counts its calls and keys, and can run `race` inside one call: the call's
 * tile items are read, then `race` runs to its end (a push: its items, then its token), then
 * the call's head items are read, one answer. BatchGetItem reads its keys in no set order, so
 * DynamoDB may do exactly this.
 */
function instrumentedBatchGet() {
  const sent = { calls: 0, keys: 0 };
  let race: (() => Promise<unknown>) | undefined;
  const batchGet: BatchGetItems = async (input) => {
    sent.calls++;
    const [[name, request]] = Object.entries(input.RequestItems ?? {}) as [
      [string, KeysAndAttributes],
    ];
    const keys = request.Keys ?? [];
    sent.keys += keys.length;
    const isHead = (key: (typeof keys)[number]) => key.pk?.S?.endsWith('|head') === true;
    const running = race;
    if (running === undefined || !keys.some(isHead) || keys.every(isHead)) return send(input);
    race = undefined;
    const part = (wanted: boolean) => ({
      RequestItems: { [name]: { ...request, Keys: keys.filter((k) => isHead(k) === wanted) } },
    });
    const items = await send(part(false));
    await running();
    const heads = await send(part(true));
    return {
      $metadata: {},
      Responses: {
        [name]: [...(items.Responses?.[name] ?? []), ...(heads.Responses?.[name] ?? [])],
      },
      UnprocessedKeys: {},
    } satisfies BatchGetItemCommandOutput;
  };
  return { sent, batchGet, raceNextRound: (r: () => Promise<unknown>) => (race = r) };
}

const request = (...ids: string[]) => ({
  views: [{ view: 'spend', features }],
  entities: ids.map((customer_id) => ({ customer_id })),
});
const uncached = (ids: string[], ms = 0) =>
  lookupFeatures(client, table, registry, request(...ids), { now: () => atMs + ms });

describe('cold tile lookups through the cache: one round, cached only when provably safe', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(client, table);
    await push([
      paymentRow(ago(3n), { customer_id: 'R1', amount: 1.5 }),
      paymentRow(ago(3n), { customer_id: 'R2', amount: 2.25 }),
      paymentRow(ago(125n), { customer_id: 'R2', amount: 0.1 }),
      paymentRow(ago(20n * 1440n), { customer_id: 'R3', amount: 7 }),
      paymentRow(ago(9n, 900_000n), { customer_id: 'R4', amount: 3 }),
      paymentRow(ago(1n), { customer_id: 'R5', amount: 1 }),
      // 11:51:45.25: a whole minute tile of the 10m window now, its raw lower edge a minute on.
      paymentRow(ago(8n, 45_000_000n), { customer_id: 'R6', amount: 6 }),
    ]);
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  it('reads a cold entity in one BatchGetItem call, heads and items, equal bit for bit to an uncached lookup', async () => {
    const ids = ['R1', 'R2', 'R3', 'R4'];
    for (const ms of [0, 59_999, 61_000, 3_600_000 + 17, 86_400_000 - 30_000]) {
      const { sent, batchGet } = instrumentedBatchGet();
      const cold = await lookupFeatures(batchGet, table, registry, request(...ids), {
        now: () => atMs + ms,
        tileCache: new TileItemCache(),
      });
      expect(cold).toEqual(await uncached(ids, ms));
      expect(sent.calls).toBe(1);
    }
  });

  it('reads at a new minute, in one round with the heads, only the edge items that moved and may hold rows', async () => {
    const ids = ['R1', 'R2', 'R4', 'R6'];
    const cache = new TileItemCache();
    const { sent, batchGet } = instrumentedBatchGet();
    const cached = async (ms: number) => {
      const before = { ...sent };
      const values = await lookupFeatures(batchGet, table, registry, request(...ids), {
        now: () => atMs + ms,
        tileCache: cache,
      });
      expect(values).toEqual(await uncached(ids, ms));
      return { values, calls: sent.calls - before.calls, keys: sent.keys - before.keys };
    };
    await cached(0);
    expect((await cached(1)).keys).toBeGreaterThan(10 * ids.length); // caches: token seen before
    // A minute on, per entity: its head, the hour block of the new upper minute (12:01; the
    // first whole minute of that hour is 12:00) and the minute item of 12:01 (its block was not
    // cached); and the 10m window's lower edge minute (11:51) of R4 and R6 only, whose cached
    // hour block holds a tile there (R6's row is in the window's raw edge now, R4's just
    // before it); every other moved edge minute's block shows it empty.
    const minuteOn = await cached(60_000);
    expect(minuteOn.calls).toBe(1);
    expect(minuteOn.values[3]?.amount_count_10m?.value).toBe(1);
    expect(minuteOn.keys).toBe(ids.length * 3 + 2);
    // Another minute on: every block of the edges is cached and shows no row in their new
    // minutes (nor R6's, out of the window now): the head items alone.
    const twoOn = await cached(120_000);
    expect(twoOn.calls).toBe(1);
    expect(twoOn.keys).toBe(ids.length);
    expect(twoOn.values[3]?.amount_count_10m?.value).toBe(0);
    for (const ms of [180_000, 3_600_000 - 30_000, 3_600_000 + 30_000, 86_400_000])
      expect((await cached(ms)).calls).toBe(1);
  });

  it('never caches items a cold round read before a write whose token its head read shows', async () => {
    const cache = new TileItemCache();
    const { batchGet, raceNextRound } = instrumentedBatchGet();
    const cached = (ms: number) =>
      lookupFeatures(batchGet, table, registry, request('R5'), {
        now: () => atMs + ms,
        tileCache: cache,
      });
    raceNextRound(() => push([paymentRow(ago(1n, 11n), { customer_id: 'R5', amount: 2 })]));
    // Items read before the push, head after it: the answer is the items' (the push had not
    // returned when they were read)...
    const raced = await cached(0);
    expect(raced[0]?.amount_count_10m?.value).toBe(1);
    // ...but they must not be kept under the new token the head showed.
    for (const ms of [1, 2, 3]) {
      const after = await cached(ms);
      expect(after).toEqual(await uncached(['R5'], ms));
      expect(after[0]?.amount_count_10m?.value).toBe(2);
      expect(after[0]?.amount_sum_10m?.value).toBe(3);
    }
  });

  it('reads whole, after the head, an entity written while its missing items were read', async () => {
    const cache = new TileItemCache();
    const { sent, batchGet, raceNextRound } = instrumentedBatchGet();
    const cached = (ms: number) =>
      lookupFeatures(batchGet, table, registry, request('R4'), {
        now: () => atMs + ms,
        tileCache: cache,
      });
    await cached(0);
    await cached(1);
    raceNextRound(() => push([paymentRow(ago(0n, 20n), { customer_id: 'R4', amount: 4 })]));
    const calls = sent.calls;
    const raced = await cached(60_000);
    expect(sent.calls - calls).toBe(2);
    expect(raced).toEqual(await uncached(['R4'], 60_000));
    // The row 9 min 0.9 s back has left the 10m window; the pushed one is in it.
    expect(raced[0]?.amount_count_10m?.value).toBe(1);
    expect(raced[0]?.amount_sum_10m?.value).toBe(4);
    expect(await cached(60_001)).toEqual(await uncached(['R4'], 60_001));
  });

  it('retries the keys a round leaves unprocessed, heads included, and caches what the retry read', async () => {
    const ids = ['R1', 'R2', 'R3'];
    const cache = new TileItemCache();
    let unprocessed = 0;
    let calls = 0;
    const retries = new WeakSet<KeysAndAttributes>();
    // Every first attempt leaves every other key unprocessed (heads among them, read last).
    const batchGet: BatchGetItems = async (input) => {
      calls++;
      const [[name, request]] = Object.entries(input.RequestItems ?? {}) as [
        [string, KeysAndAttributes],
      ];
      const keys = request.Keys ?? [];
      if (retries.has(request)) return send(input);
      const left = { ...request, Keys: keys.filter((_, i) => i % 2 === 0) };
      retries.add(left);
      unprocessed += left.Keys.length;
      const done = await send({
        RequestItems: { [name]: { ...request, Keys: keys.filter((_, i) => i % 2 === 1) } },
      });
      return { ...done, UnprocessedKeys: { [name]: left } };
    };
    const options = (ms: number) => ({
      now: () => atMs + ms,
      tileCache: cache,
      sleep: async () => {},
    });
    for (const ms of [0, 1, 2])
      expect(await lookupFeatures(batchGet, table, registry, request(...ids), options(ms))).toEqual(
        await uncached(ids, ms),
      );
    expect(unprocessed).toBeGreaterThan(0);
    // Warm: the third lookup read only the three heads (two attempts: one left unprocessed).
    const before = calls;
    await lookupFeatures(batchGet, table, registry, request(...ids), options(3));
    expect(calls - before).toBe(2);
  });
});

import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../lib/demo/prng.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import type { BaseRow } from '../../lib/online/aggregation-tiles/base-tiles.ts';
import {
  blockItemKey,
  headItemKey,
  minuteItemKey,
} from '../../lib/online/aggregation-tiles/tile-items.ts';
import {
  dayMicros,
  hourMicros,
  minuteMicros,
  tileStart,
} from '../../lib/online/aggregation-tiles/tile-sizes.ts';
import { writeBaseTiles } from '../../lib/online/aggregation-tiles/write-base-tiles.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileEnvironment } from '../helpers/tile-materialization-environment.ts';
import { customers, minute, rowsBetween, second, t0 } from '../helpers/tile-payment-rows.ts';
import {
  ingestWithK1OutsideWindow,
  k1TileItems,
  prefixOf,
  writeStaleK1Base,
} from '../helpers/tile-stale-base.ts';

// A run reads an entity's stored bases and writes only the items whose base changed, clearing
// the bases its own no longer covers (ADR 0020, "Scheduled materialization", "Cost").
let dynamo: LocalDynamo;
type Env = Awaited<ReturnType<typeof tileEnvironment>>;

/** A client passing every command on, recording the keys of base writes and token renewals. */
function recording(client: DynamoDBClient, before?: (key: string) => Promise<void>) {
  const keys: string[] = [];
  const proxy = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: unknown) => {
        if (command instanceof UpdateItemCommand) {
          const key = command.input.Key?.pk?.S ?? '';
          const names = Object.values(command.input.ExpressionAttributeNames ?? {});
          if (names.includes('bs') || key.endsWith('|head')) {
            keys.push(key);
            await before?.(key);
          }
        }
        return target.send(command as UpdateItemCommand);
      };
    },
  });
  return { client: proxy, keys };
}

/** Lookups at the instants given, with and without a cache, checked against the training set. */
async function mismatchesAt(env: Env, instants: readonly bigint[]) {
  const lookups = [];
  for (const at of instants)
    for (const cached of [false, true])
      lookups.push(...env.lookupRecords(at, await env.lookupAt(at, cached)));
  return env.mismatches(lookups);
}

const token = async (env: Env, customer: string) =>
  (
    await env.client.send(
      new GetItemCommand({
        TableName: env.table,
        Key: { pk: { S: headItemKey(prefixOf(env, customer)) } },
        ConsistentRead: true,
      }),
    )
  ).Item?.w?.S;

const featureItem = async (env: Env, customer: string) =>
  (
    await env.client.send(
      new GetItemCommand({
        TableName: env.table,
        Key: { pk: { S: prefixOf(env, customer) } },
        ConsistentRead: true,
      }),
    )
  ).Item;

describe('a materialization run writes only the tile items whose base changed (issue 20)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('writes, after one new row, only the four items that row falls in and its entity’s token', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(31);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 3n * 1440n * minute, at, 30, taken),
    );
    expect((await env.materialize(at))[0]?.status).toBe('succeeded');
    const items = await env.tileItems();

    // One row of K1, in a minute no row had (its hour, day and 32-day blocks already exist).
    const event = at + 17n * second;
    await env.fixture.ingest('payments', [
      paymentRow(formatMicros(event), { customer_id: 'K1', amount: 4.25, status: 'ok' }),
    ]);
    const record = recording(env.client);
    expect((await env.materialize(at + minute, { client: record.client }))[0]?.status).toBe(
      'succeeded',
    );
    const prefix = prefixOf(env, 'K1');
    // The run goes over every entity (each gets its token); only K1's four items are written.
    expect(record.keys.filter((key) => !key.endsWith('|head')).sort()).toEqual(
      [
        minuteItemKey(prefix, tileStart(event, minuteMicros)),
        blockItemKey(prefix, minuteMicros, event),
        blockItemKey(prefix, hourMicros, event),
        blockItemKey(prefix, dayMicros, event),
      ].sort(),
    );
    expect(record.keys).toContain(headItemKey(prefix));
    expect((await env.tileItems()).size).toBeGreaterThan(items.size);
    expect(await mismatchesAt(env, [at + minute, at + 10n * minute, at + 1440n * minute])).toEqual(
      [],
    );
  }, 180_000);

  it('writes nothing but each entity’s token when a run is repeated at the same sequence', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(37);
    const taken = new Set<string>();
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, t0 - 2n * 1440n * minute, t0, 20, taken),
    );
    const records = await env.records();
    await env.writeBases(records);
    const items = await env.tileItems();
    const tokens = await Promise.all(customers.map((c) => token(env, c)));

    const record = recording(env.client);
    const again = await env.writeBases(records, record.client);
    expect(again).toMatchObject({ entities: 3, itemsWritten: 0 });
    expect([...record.keys].sort()).toEqual(
      customers.map((c) => headItemKey(prefixOf(env, c))).sort(),
    );
    expect(await env.tileItems()).toEqual(items);
    const renewed = await Promise.all(customers.map((c) => token(env, c)));
    for (const [i, t] of renewed.entries()) expect(t).not.toBe(tokens[i]);
  }, 120_000);

  it('clears the bases of rows no longer offline, so lookups equal the training set', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(41);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 20n * 1440n * minute, at, 24, taken),
    );
    // A base written at an older sequence from rows the offline store no longer has (erased,
    // or no longer the base's): some in minutes, hours and days no offline row is in.
    for (const customer of customers) {
      const gone: BaseRow[] = rowsBetween(prng, at - 25n * 1440n * minute, at, 8, taken).map(
        (row, i) => ({
          eventMicros: epochMicrosOf(String(row.event_ts)),
          createdMicros: null,
          seq: BigInt(i),
          values: { amount: 1000 + i, status: 'gone' },
        }),
      );
      await writeBaseTiles(
        {
          client: env.client,
          table: env.table,
          prefix: prefixOf(env, customer),
          sumKinds: { amount: 'float', status: 'none' },
          widestWindowSeconds: 30 * 86_400,
        },
        gone,
        0n,
        { nowMs: Number(at / 1000n) },
      );
    }
    const stale = (await env.lookupAt(at, false)).map((v) => v.amount_count_30d);
    expect(stale.every((count) => (count as number) >= 8)).toBe(true);

    expect((await env.materialize(at))[0]?.status).toBe('succeeded');
    const instants = [
      at,
      at + minute,
      ...[1, 3, 7, 12].map((d) => at + BigInt(d) * 1440n * minute),
    ];
    expect(await mismatchesAt(env, instants)).toEqual([]);
    for (const item of (await env.tileItems()).values())
      expect(item.br?.S ?? item.bt?.S ?? '').not.toContain('gone');
  }, 180_000);

  it('clears the stale base of an entity none of whose rows is in the widest window any more', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(53);
    const at = t0 - 5n * minute;
    await ingestWithK1OutsideWindow(env, prng, at);
    // K1's base from rows the offline store no longer has: the base query returns none for K1.
    await writeStaleK1Base(env, prng, at);
    expect((await env.lookupAt(at, false))[0]?.amount_count_30d).toBe(8);

    expect((await env.materialize(at))[0]?.status).toBe('succeeded');
    const k1 = await k1TileItems(env);
    expect(k1.length).toBeGreaterThan(0);
    for (const item of k1) expect(item.br ?? item.bt).toBeUndefined();
    const instants = [at, at + minute, ...[1, 7, 20].map((d) => at + BigInt(d) * 1440n * minute)];
    expect(await mismatchesAt(env, instants)).toEqual([]);
  }, 180_000);

  it('writes nothing, not even a token, for an entity with no stored base and no row in the window', async () => {
    const env = await tileEnvironment(dynamo);
    const at = t0 - 5n * minute;
    await ingestWithK1OutsideWindow(env, new Prng(59), at);
    const record = recording(env.client);
    expect((await env.materialize(at, { client: record.client }))[0]?.status).toBe('succeeded');
    // K1 was in the run (its feature item is written) but no tile item or token of it.
    expect(await featureItem(env, 'K1')).toBeDefined();
    expect(record.keys.filter((key) => key.startsWith(`${prefixOf(env, 'K1')}|`))).toEqual([]);
    expect(record.keys).toContain(headItemKey(prefixOf(env, 'K2')));
    expect(await mismatchesAt(env, [at, at + 1440n * minute])).toEqual([]);
  }, 180_000);

  it('counts a push made between the run’s reads and its writes once', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(43);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    const ingested = rowsBetween(prng, at - 3n * 60n * minute, at, 18, taken);
    await env.fixture.ingest('payments', ingested);
    // Into the minutes, hours and days the run is writing: a microsecond after batch rows.
    const pushed = ingested.slice(0, 6).map((row) => ({
      ...row,
      event_ts: formatMicros(epochMicrosOf(String(row.event_ts)) + 1n),
      created_ts: null,
      amount: 0.5,
    }));
    let pushes = 0;
    const record = recording(env.client, async (key) => {
      if (pushes === 0 && !key.endsWith('|head')) {
        pushes++;
        const answer = await env.push(at, pushed);
        expect(answer.rows).toBe(pushed.length);
      }
    });
    expect((await env.materialize(at, { client: record.client }))[0]?.status).toBe('succeeded');
    expect(pushes).toBe(1);
    // Instants whose 10-minute window starts in a pushed row's minute: read from its raw rows.
    const edges = pushed.map((row) => {
      const event = epochMicrosOf(String(row.event_ts));
      return event - (event % 1000n) + 10n * minute - 1000n;
    });
    expect(await mismatchesAt(env, [at, at + 3n * minute, ...edges])).toEqual([]);
  }, 180_000);

  it('never replaces what a newer run wrote between this run’s reads and its writes', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(47);
    const taken = new Set<string>();
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, t0 - 2n * 1440n * minute, t0, 12, taken),
    );
    const older = await env.records();
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, t0 - 2n * 1440n * minute, t0, 12, taken),
    );
    const newer = await env.records();
    let race: Promise<unknown> | undefined;
    const record = recording(env.client, async (key) => {
      if (key.endsWith('|head')) return;
      // A newer run (a later sequence) writes every entity before any of the older one's writes.
      race ??= env.writeBases(newer);
      await race;
    });
    // The older run read no base and plans its items: each is refused, the newer base holds.
    const counts = await env.writeBases(older, record.client);
    expect(race).toBeDefined();
    expect(counts?.itemsWritten).toBe(0);
    expect(counts?.itemsAlreadyNewer).toBeGreaterThan(10);
    expect(await mismatchesAt(env, [t0, t0 + 30n * minute])).toEqual([]);
  }, 120_000);
});

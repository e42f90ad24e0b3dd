import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../lib/api/api-error.ts';
import { formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { longestTileSuffixBytes } from '../../lib/online/aggregation-tiles/tile-items.ts';
import { EntityKeyError, maxPartitionKeyBytes } from '../../lib/online/entity-key.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { pushRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileEnvironment } from '../helpers/tile-materialization-environment.ts';
import { customers, minute, t0 } from '../helpers/tile-payment-rows.ts';
import { tileRegistry } from '../helpers/tile-registry.ts';

// A tile-fed view's items are keyed `<view>#<version>#<entity key>` + a tile suffix
// (`|tiles#1440m#<start>`, `|raw#<minute>`, `|head`): an entity key whose view item fits
// DynamoDB's 2048-byte partition key may leave no room for them.
const registry = tileRegistry();
const spend = pushRegistryProjection(registry).featureViews.find((v) => v.name === 'spend');
const now = Date.parse('2026-03-01T00:00:00Z');
let dynamo: LocalDynamo;

/** A customer id whose `spend` item key is `bytes` long. */
const customerWithKeyOf = (bytes: number) =>
  'k'.repeat(bytes - `${spend?.onlineStore.keyPrefix}#customer_id=`.length);
const tooLong = customerWithKeyOf(maxPartitionKeyBytes - 8);
const longest = customerWithKeyOf(maxPartitionKeyBytes - longestTileSuffixBytes);

describe('an entity key too long for the tile items of a tile-fed view (issue 20)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('refuses a push as a client mistake (400 naming the row) before anything is written, and takes the longest key that fits', async () => {
    const client = localDynamoClient(dynamo.endpoint);
    const table = 'fstore-tiles-long-key-push';
    await ensureLocalTable(client, table);
    const logged: number[] = [];
    const push = (customer_id: string) =>
      executePush(
        {
          registry,
          online: { client, table },
          offline: async (_source, rows) => {
            logged.push(rows.length);
          },
          now: () => now,
        },
        defaultPushLimits,
        'payments',
        {
          rows: [paymentRow(formatMicros(BigInt(now - 60_000) * 1000n), { customer_id })],
          to: 'online_and_offline',
        },
      );
    const refused = await push(tooLong).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(400);
    expect((refused as Error).message).toMatch(/rows\[0\]\.customer_id: .*onlineTiles/s);
    expect(logged).toEqual([]);
    expect((await client.send(new ScanCommand({ TableName: table }))).Items ?? []).toEqual([]);

    const answer = await push(longest);
    expect(answer.online?.tiles?.[0]?.added).toBe(1);
    expect(logged).toEqual([1]);
  }, 60_000);

  it('refuses a lookup with an EntityKeyError (the API answers 400 INVALID_JOIN_KEY) instead of failing the store call, and answers the longest key that fits', async () => {
    const client = localDynamoClient(dynamo.endpoint);
    const table = 'fstore-tiles-long-key-lookup';
    await ensureLocalTable(client, table);
    const lookup = (customer_id: string) =>
      lookupFeatures(
        client,
        table,
        registry,
        {
          views: [{ view: 'spend', features: [{ feature: 'amount_count_1d', outputName: 'n' }] }],
          entities: [{ customer_id }],
        },
        { now: () => now },
      );
    await expect(lookup(tooLong)).rejects.toBeInstanceOf(EntityKeyError);
    const [answer] = await lookup(longest);
    expect(answer?.n?.value).toBe(0);
  }, 60_000);

  it('quarantines a batch row whose entity key is too long for the tile items, and the run writes every other entity and its base', async () => {
    const env = await tileEnvironment(dynamo);
    const view = env.fixture.registry.featureViews.find((v) => v.name === 'spend');
    const keyOf = (bytes: number) =>
      'k'.repeat(bytes - `${view?.onlineStore.keyPrefix}#customer_id=`.length);
    const rows = [
      ...customers.map((customer_id, i) =>
        paymentRow(formatMicros(t0 - BigInt(i + 1) * minute), { customer_id, amount: i + 1 }),
      ),
      paymentRow(formatMicros(t0 - 30n * minute), {
        customer_id: keyOf(maxPartitionKeyBytes - 8),
        amount: 7,
      }),
      paymentRow(formatMicros(t0 - 31n * minute), {
        customer_id: keyOf(maxPartitionKeyBytes - longestTileSuffixBytes),
        amount: 9,
      }),
    ];
    await env.fixture.ingest('payments', rows);
    const [result] = await env.materialize(t0);
    expect(result?.status).toBe('succeeded');
    expect(result?.counts).toMatchObject({ rowsRead: 5, rejected: 1 });
    expect(result?.quarantine).toBeDefined();
    const at = t0 + 10n * 1000n;
    const lookups = [
      ...env.lookupRecords(at, await env.lookupAt(at, false)),
      ...env.lookupRecords(at, await env.lookupAt(at, true)),
    ];
    expect(lookups.every((l) => l.values.amount_count_1d === 1)).toBe(true);
    expect(await env.mismatches(lookups)).toEqual([]);
  }, 120_000);
});

import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { type LocalHttpServer, startHttpServer } from '../../lib/local/http-server.ts';
import type { QuarantineSink } from '../../lib/materialize/quarantine.ts';
import { windowValue } from '../../lib/online/aggregation-tiles/combine-window.ts';
import {
  tileReaderOfItems,
  windowItemKeys,
} from '../../lib/online/aggregation-tiles/window-items.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { pushEventHandler } from '../../lib/push/push-event.ts';
import { dynamoPushIdempotency } from '../../lib/push/push-idempotency.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { ingestStreamBatch } from '../../lib/push/stream-batch.ts';
import { pushRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileRegistry } from '../helpers/tile-registry.ts';

const registry = tileRegistry();
const table = 'fstore-push-tiles';
const recordsTable = 'fstore-push-tiles-idempotency';
let dynamo: LocalDynamo;
let setup: DynamoDBClient;
const servers: LocalHttpServer[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

/** `spend`'s amount over `seconds` for `customer` at now, read from its tiles alone. */
async function amountFromTiles(fn: 'count' | 'sum', seconds: number, customer: string) {
  const prefix = `${registry.featureViews.find((v) => v.name === 'spend')?.onlineStore.keyPrefix}#customer_id=${customer}`;
  const at = BigInt(Date.now()) * 1000n;
  const items = new Map();
  for (const key of windowItemKeys(prefix, at, [seconds])) {
    const { Item } = await setup.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    if (Item) items.set(key, Item);
  }
  return windowValue(fn, 'float', seconds, at, tileReaderOfItems(items, prefix, 'amount', 'float'));
}

/** A push server on dynalite with Idempotency-Key records; `stuckAfterMinuteItem` holds every tile carry-up. */
async function pushServer(options: { stuckAfterMinuteItem?: boolean } = {}) {
  const client = localDynamoClient(dynamo.endpoint);
  let minuteItemsWritten = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string; UpdateExpression?: string };
      // Step 1 updates the minute item's version; the carry-ups (step 2) and the token do not.
      const minuteItem = input.UpdateExpression?.startsWith('SET #ver = :next') === true;
      if (input.TableName === table && context.commandName === 'UpdateItemCommand' && minuteItem)
        minuteItemsWritten += 1;
      if (
        options.stuckAfterMinuteItem &&
        input.TableName === table &&
        context.commandName === 'UpdateItemCommand' &&
        !minuteItem
      )
        await new Promise(() => {}); // a writer killed between its two steps
      return next(args);
    },
    { step: 'initialize', name: 'holdTileCarry' },
  );
  const server = await startHttpServer(async () => ({ statusCode: 404, headers: {}, body: '{}' }), {
    port: 0,
    maxBodyBytes: defaultPushLimits.maxBodyBytes,
    push: pushEventHandler({
      registry,
      limits: defaultPushLimits,
      client,
      table,
      idempotency: dynamoPushIdempotency({
        client,
        table: recordsTable,
        expiresAfterSeconds: 3_600,
        inProgressExpiryMs: 300,
      }),
    }),
  });
  servers.push(server);
  const post = async (body: unknown, key?: string) => {
    const response = await fetch(`${server.url}/v1/push/payments`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'Idempotency-Key': key }),
      },
      body: JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
    return { status: response.status, json: (await response.json()) as Record<string, any> };
  };
  return { post, minuteItemsWritten: () => minuteItemsWritten };
}

const noQuarantine: QuarantineSink = { location: 'none', add: () => {}, flush: async () => {} };

describe('pushes and stream records update the tiles of aggregation views (issue 20)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
    setup = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(setup, table);
    await ensureLocalTable(setup, recordsTable);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    setup.destroy();
    await dynamo.close();
  });

  it('adds each pushed row to the tiles, answers the counts, and lists only count_distinct as batch-fresh', async () => {
    const { post } = await pushServer();
    const answer = await post({
      to: 'online',
      rows: [
        paymentRow(minutesAgo(5), { customer_id: 'T1', amount: 0.1 }),
        paymentRow(minutesAgo(30), { customer_id: 'T1', amount: 0.2 }),
        paymentRow(minutesAgo(3 * 24 * 60), { customer_id: 'T1', amount: 4 }),
        paymentRow(minutesAgo(40 * 24 * 60), { customer_id: 'T1', amount: 8 }),
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.json.online.tiles).toEqual([
      { view: 'spend', added: 3, alreadyCounted: 0, outsideWindows: 1 },
    ]);
    expect(answer.json.online.notUpdated).toEqual([
      { view: 'spend', reason: expect.stringContaining('status_count_distinct_1d') },
    ]);
    expect(await amountFromTiles('count', 600, 'T1')).toBe(1);
    expect(await amountFromTiles('sum', 86_400, 'T1')).toBe(0.1 + 0.2);
    expect(await amountFromTiles('count', 30 * 86_400, 'T1')).toBe(3);
  });

  it('counts a retried push once: a retry that takes over a push killed after its minute items finishes it', async () => {
    const killed = await pushServer({ stuckAfterMinuteItem: true });
    const body = {
      to: 'online',
      rows: [paymentRow(minutesAgo(2), { customer_id: 'T2', amount: 3 })],
    };
    void killed.post(body, 'retry-tiles').catch(() => {});
    while (killed.minuteItemsWritten() === 0) await sleep(10);
    await sleep(400); // past the in-progress expiry: the key may be taken over
    const retry = await pushServer();
    const answer = await retry.post(body, 'retry-tiles');
    expect(answer.status).toBe(200);
    expect(answer.json.online.tiles).toEqual([
      { view: 'spend', added: 0, alreadyCounted: 1, outsideWindows: 0 },
    ]);
    expect(await amountFromTiles('count', 86_400, 'T2')).toBe(1);
    expect(await amountFromTiles('sum', 86_400, 'T2')).toBe(3);
    // Without a key, the same rows again are another push: they count again, as offline.
    await retry.post(body);
    expect(await amountFromTiles('count', 86_400, 'T2')).toBe(2);
  });

  it('counts a stream record Lambda delivers twice once, and a record repeated in its batch once', async () => {
    const record = (sequence: string, row: Record<string, unknown>) => ({
      eventID: `shardId-000000000000:${sequence}`,
      kinesis: {
        data: Buffer.from(JSON.stringify(row)).toString('base64'),
        sequenceNumber: sequence,
        partitionKey: 'T3',
      },
    });
    const row = paymentRow(minutesAgo(1), { customer_id: 'T3', amount: 5 });
    const other = paymentRow(minutesAgo(3), { customer_id: 'T3', amount: 7 });
    const target = {
      registry: pushRegistryProjection(registry),
      source: 'payments',
      client: setup,
      table,
      maxFutureSkewSeconds: 300,
    };
    const event = { Records: [record('4901', row), record('4902', other), record('4903', row)] };
    const first = await ingestStreamBatch(target, event, noQuarantine);
    expect(first).toMatchObject({ tileRowsAdded: 2, duplicates: 1, batchItemFailures: [] });
    const again = await ingestStreamBatch(target, event, noQuarantine);
    expect(again).toMatchObject({ tileRowsAdded: 0, batchItemFailures: [] });
    expect(await amountFromTiles('count', 600, 'T3')).toBe(2);
    expect(await amountFromTiles('sum', 600, 'T3')).toBe(12);
  });
});

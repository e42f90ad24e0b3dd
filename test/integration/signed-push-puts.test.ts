import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { microsOfMillis } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { sendConditionalPuts } from '../../lib/online/conditional-puts.ts';
import { DynamoDbRequestError } from '../../lib/online/dynamodb-batch-get/dynamodb-request-error.ts';
import {
  type PutItem,
  signedPutItem,
} from '../../lib/online/dynamodb-batch-get/signed-put-item.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { pushSource } from '../../lib/push/push-source.ts';
import { validatePushRows } from '../../lib/push/validate-push-rows.ts';
import { buildOnlinePush, sendOnlinePush } from '../../lib/push/write-push-online.ts';
import { pushRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';

const sdkTable = 'fstore-sdk-online';
const signedTable = 'fstore-signed-online';
const registry = pushRegistryProjection(pushRegistry());
const nowMs = Date.now();
const hourAgo = new Date(nowMs - 3_600_000).toISOString();
const twoHoursAgo = new Date(nowMs - 7_200_000).toISOString();

describe('the signed PutItem client against dynalite, beside the SDK writer', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let putItem: PutItem;
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(client, sdkTable);
    await ensureLocalTable(client, signedTable);
    putItem = signedPutItem({
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      endpoint: dynamo.endpoint,
    });
  }, 60_000);
  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  const item = async (table: string, pk: string) =>
    (await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } } }))).Item;

  /** Every put of a push of `rows` to `table`, sent by `writer`. */
  async function push(table: string, rows: Record<string, unknown>[], writer?: PutItem) {
    const source = pushSource(registry, 'payments');
    const valid = validatePushRows(registry, source, rows, {
      nowMicros: microsOfMillis(nowMs),
      maxFutureSkewSeconds: 300,
    });
    const target = {
      client,
      ...(writer ? { putItem: writer } : {}),
      table,
      registry,
      now: () => nowMs,
    };
    return sendOnlinePush(target, buildOnlinePush(target, 'payments', valid));
  }

  it('writes a push’s items equal to the SDK writer’s, attribute for attribute', async () => {
    const rows = [
      paymentRow(hourAgo),
      paymentRow(hourAgo, { customer_id: 'C2', account_id: '9007199254740993', amount: 0.1 }),
      paymentRow(hourAgo, { customer_id: 'C3', account_id: 8, scores: [], status: 'refunded' }),
    ];
    const bySdk = await push(sdkTable, rows);
    const bySigned = await push(signedTable, rows, putItem);
    expect(bySigned).toEqual(bySdk);
    expect(bySigned.written).toBe(6);
    const { Items: sdkItems = [] } = await scanAll(sdkTable);
    const { Items: signedItems = [] } = await scanAll(signedTable);
    expect(signedItems.length).toBe(6);
    expect(sortByKey(signedItems)).toEqual(sortByKey(sdkItems));
  });

  it('keeps a newer item: an older push is counted skipped and changes nothing, as through the SDK', async () => {
    const before = await item(signedTable, (await anyKey(signedTable)) as string);
    const older = await push(signedTable, [paymentRow(twoHoursAgo, { amount: 99 })], putItem);
    const olderBySdk = await push(sdkTable, [paymentRow(twoHoursAgo, { amount: 99 })]);
    expect(older.written).toBe(0);
    expect(older.skippedAsOlder).toBe(2);
    expect(older).toEqual(olderBySdk);
    expect(await item(signedTable, (await anyKey(signedTable)) as string)).toEqual(before);
  });

  it('replaces an item with a later event, as through the SDK', async () => {
    const later = new Date(nowMs - 60_000).toISOString();
    const bySigned = await push(signedTable, [paymentRow(later, { amount: 42 })], putItem);
    const bySdk = await push(sdkTable, [paymentRow(later, { amount: 42 })]);
    expect(bySigned.written).toBe(2);
    expect(bySigned).toEqual(bySdk);
    expect(sortByKey((await scanAll(signedTable)).Items ?? [])).toEqual(
      sortByKey((await scanAll(sdkTable)).Items ?? []),
    );
  });

  it('round-trips binary, number, set, list and map attributes equal to an SDK PutItem', async () => {
    const attributes: Record<string, AttributeValue> = {
      b: { B: new Uint8Array([0, 1, 2, 250, 255]) },
      bs: { BS: [new Uint8Array([1]), new Uint8Array([2, 3])] },
      big: { N: '9007199254740993' },
      tiny: { N: '-1.25E-120' },
      ns: { NS: ['1', '2.5', '-3'] },
      ss: { SS: ['a', 'é'] },
      l: { L: [{ N: '1' }, { S: 'x' }, { NULL: true }, { B: new Uint8Array([9]) }] },
      m: { M: { inner: { M: { flag: { BOOL: false }, bin: { B: new Uint8Array([7, 8]) } } } } },
    };
    await client.send(
      new PutItemCommand({ TableName: sdkTable, Item: { pk: { S: 'typed' }, ...attributes } }),
    );
    await putItem({ TableName: signedTable, Item: { pk: { S: 'typed' }, ...attributes } });
    const bySdk = await item(sdkTable, 'typed');
    const bySigned = await item(signedTable, 'typed');
    expect(bySigned).toEqual(bySdk);
    expect(bySigned?.b?.B).toEqual(new Uint8Array([0, 1, 2, 250, 255]));
  });

  it('rejects a failed condition as ConditionalCheckFailedException, which the writer counts as skipped', async () => {
    const put = {
      TableName: signedTable,
      Item: { pk: { S: 'typed' } },
      ConditionExpression: 'attribute_not_exists(pk)',
    };
    const refused = await putItem(put).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DynamoDbRequestError);
    expect((refused as DynamoDbRequestError).errorType).toBe('ConditionalCheckFailedException');
    expect((refused as DynamoDbRequestError).retryable).toBe(false);
    const counted = await sendConditionalPuts(putItem, [new PutItemCommand(put)], {
      concurrency: 1,
    });
    expect(counted).toEqual({ written: 0, skippedAsOlder: 1, throttled: 0 });
  });

  async function scanAll(table: string) {
    return client.send(new ScanCommand({ TableName: table }));
  }
  async function anyKey(table: string) {
    const items = sortByKey((await scanAll(table)).Items ?? []);
    return items.find((i) => i.pk?.S?.includes('C1'))?.pk?.S;
  }
});

const sortByKey = (items: Record<string, AttributeValue>[]) =>
  [...items].sort((a, b) => String(a.pk?.S).localeCompare(String(b.pk?.S)));

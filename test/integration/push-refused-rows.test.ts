import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../lib/api/api-error.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { appendPushLog, pendingPushLogs } from '../../lib/push/push-log.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
const at = '2026-03-01T11:00:00Z';
/** The double just below 1e126 (9.999999999999999e125 rounds to 1e126 itself). */
const largestStorableDouble = 9.999999999999998e125;
let dynamo: LocalDynamo;
let tables = 0;

async function environment() {
  const client = localDynamoClient(dynamo.endpoint);
  const table = `fstore-push-refused-${tables++}`;
  await ensureLocalTable(client, table);
  const dataDir = await makeTempDir('push-refused');
  const push = (rows: Record<string, unknown>[]) =>
    executePush(
      {
        registry,
        online: { client, table },
        now: () => Date.parse('2026-03-01T12:00:00Z'),
        offline: async (source, valid) => {
          await appendPushLog(dataDir, 'local', source, valid);
        },
      },
      defaultPushLimits,
      'payments',
      { rows, to: 'online_and_offline' },
    );
  const refusal = async (rows: Record<string, unknown>[]) => {
    const error = await push(rows).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof ApiError)) throw new Error(`expected a refusal, got ${String(error)}`);
    return error;
  };
  const onlineItems = async () => (await client.send(new ScanCommand({ TableName: table }))).Count;
  const logs = () => pendingPushLogs(dataDir, 'local', 'payments');
  return { client, table, push, refusal, onlineItems, logs };
}

describe('a refused push to online_and_offline (issue 17 review)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('leaves no offline log and no online item when a row is refused while the puts are built', async () => {
    const env = await environment();
    // Passes the row rules, but its online item is over DynamoDB's 400 KB: refused at build time.
    const huge = paymentRow(at, { customer_id: 'H1', scores: new Array(100_000).fill(0.1234567) });
    const error = await env.refusal([paymentRow(at, { customer_id: 'OK1' }), huge]);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_ROW' });
    expect(error.message).toContain('$.rows[1]');
    expect(error.message).toContain('400 KB');
    expect(await env.logs()).toEqual([]);
    expect(await env.onlineItems()).toBe(0);
  });

  it('refuses a join key too long for the partition key as a 400 naming the row and field, writing nothing', async () => {
    const env = await environment();
    const error = await env.refusal([paymentRow(at, { customer_id: 'x'.repeat(2_100) })]);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_ROW' });
    expect(error.details).toMatchObject({ row: 0, field: 'customer_id' });
    expect(error.message).toContain('2048');
    expect(await env.logs()).toEqual([]);
    expect(await env.onlineItems()).toBe(0);
  });

  it('stores the smallest number DynamoDB holds and refuses one below it, writing nothing', async () => {
    const env = await environment();
    const answer = await env.push([paymentRow(at, { customer_id: 'S1', amount: 1e-130 })]);
    expect(answer.online?.written).toBeGreaterThan(0);
    expect(await env.logs()).toHaveLength(1);
    const error = await env.refusal([paymentRow(at, { customer_id: 'S2', amount: 1e-131 })]);
    expect(error.details).toMatchObject({ row: 0, field: 'amount' });
    expect(error.message).toContain('DynamoDB');
    expect(await env.logs()).toHaveLength(1);
  });

  it('matches the real store: the largest double push accepts is storable, the next one is not', async () => {
    const env = await environment();
    const put = (n: number) =>
      env.client.send(
        new PutItemCommand({
          TableName: env.table,
          Item: { pk: { S: `edge#${n}` }, v: { N: String(n) } },
        }),
      );
    await expect(put(largestStorableDouble)).resolves.toBeDefined();
    await expect(put(1e126)).rejects.toThrow();
  });
});

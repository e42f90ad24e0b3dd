import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../lib/api/api-error.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { localOfflineValues, verifyOnline } from '../../lib/quality/verify-online.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
const hour = 3_600_000;
let dynamo: LocalDynamo;
let tables = 0;

async function environment() {
  const client = localDynamoClient(dynamo.endpoint);
  const table = `fstore-push-consistency-${tables++}`;
  await ensureLocalTable(client, table);
  const dataDir = await makeTempDir('push-consistency');
  const push = (rows: Record<string, unknown>[]) =>
    executePush({ registry, online: { client, table } }, defaultPushLimits, 'payments', {
      rows,
      to: 'online',
    });
  const ingest = async (rows: Record<string, unknown>[]) => {
    const file = path.join(dataDir, `rows-${Date.now()}.jsonl`);
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    await ingestFile({ registry, dataDir, env: 'local', source: 'payments', file });
  };
  const materialize = () =>
    materializeLocal({ registry, dataDir, env: 'local', client, table, views: ['last_payment'] });
  const amounts = async (customers: string[]) =>
    (
      await lookupFeatures(client, table, registry, {
        views: [{ view: 'last_payment', features: [{ feature: 'amount', outputName: 'amount' }] }],
        entities: customers.map((customer_id) => ({ customer_id })),
      })
    ).map((r) => (r.amount?.status === 'PRESENT' ? r.amount.value : r.amount?.status));
  return { client, table, dataDir, push, ingest, materialize, amounts };
}

describe('a pushed row and the same row ingested and materialized (issue 17 §3)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('give one online value, equal to the offline point-in-time value for every entity', async () => {
    const env = await environment();
    const now = Date.now();
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    const pushed = ['C1', 'C2', 'C3', 'C4'].map((customer_id, i) =>
      paymentRow(at(hour), { customer_id, account_id: i, amount: i + 1 }),
    );
    expect((await env.push(pushed)).online?.views).toContainEqual({
      view: 'last_payment',
      written: 4,
      skippedAsOlder: 0,
    });
    await env.ingest([
      ...pushed,
      ...pushed.map((row) => ({
        ...row,
        amount: 100,
        event_ts: at(3 * hour),
        created_ts: at(3 * hour),
      })),
      paymentRow(at(hour / 2), { customer_id: 'C2', account_id: 1, amount: 50 }),
      paymentRow(at(2 * hour), { customer_id: 'C5', account_id: 5, amount: 5 }),
    ]);
    const [run] = await env.materialize();
    expect(run?.status).toBe('succeeded');
    expect(await env.amounts(['C1', 'C2', 'C3', 'C4', 'C5'])).toEqual([1, 50, 3, 4, 5]);
    const consistency = await verifyOnline({
      client: env.client,
      table: env.table,
      registry,
      offline: localOfflineValues(registry, env.dataDir, 'local'),
      view: 'last_payment',
    });
    expect(consistency.mismatches).toEqual([]);
    expect(consistency.items).toBe(5);
    expect(consistency.matchRate).toBe(1);
  });

  it('keeps a newer pushed value when the first (full) materialization finds only older rows', async () => {
    const env = await environment();
    const now = Date.now();
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    await env.push([paymentRow(at(hour), { customer_id: 'P1', amount: 9 })]);
    await env.ingest([paymentRow(at(3 * hour), { customer_id: 'P1', amount: 1 })]);
    const [run] = await env.materialize();
    expect(run?.counts).toMatchObject({ written: 0, skippedAsOlder: 1 });
    expect(await env.amounts(['P1'])).toEqual([9]);
  });

  it('writes nothing when a later row of the push cannot be stored (an item over 400 KB)', async () => {
    const env = await environment();
    const at = new Date(Date.now() - hour).toISOString();
    const error = await env
      .push([
        paymentRow(at, { customer_id: 'S1' }),
        paymentRow(at, {
          customer_id: 'S2',
          scores: Array.from({ length: 120_000 }, () => 0.123456),
        }),
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_ROW', details: { row: 1 } });
    expect((error as ApiError).message).toContain('400 KB');
    expect(await env.amounts(['S1', 'S2'])).toEqual(['NOT_FOUND', 'NOT_FOUND']);
  });
});

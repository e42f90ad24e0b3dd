import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { MaterializationError } from '../../lib/materialize/materialize-view.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { appendPushLog, pushLogDir } from '../../lib/push/push-log.ts';
import { localOfflineValues, verifyOnline } from '../../lib/quality/verify-online.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
const hour = 3_600_000;
let dynamo: LocalDynamo;
let tables = 0;

/** A local environment whose pushes write online and leave their log waiting for compaction. */
async function environment() {
  const client = localDynamoClient(dynamo.endpoint);
  const table = `fstore-push-order-${tables++}`;
  await ensureLocalTable(client, table);
  const dataDir = await makeTempDir('push-order');
  const push = (rows: Record<string, unknown>[]) =>
    executePush(
      {
        registry,
        online: { client, table },
        offline: async (source, pushed) => {
          await appendPushLog(dataDir, 'local', source, pushed);
        },
      },
      defaultPushLimits,
      'payments',
      { rows, to: 'online_and_offline' },
    );
  let files = 0;
  const ingest = async (rows: Record<string, unknown>[]) => {
    const file = path.join(dataDir, `rows-${files++}.jsonl`);
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    await ingestFile({ registry, dataDir, env: 'local', source: 'payments', file });
  };
  const compact = () => compactPushLogs({ registry, dataDir, env: 'local' });
  const materialize = () =>
    materializeLocal({ registry, dataDir, env: 'local', client, table, views: ['last_payment'] });
  const amounts = async (customers: readonly string[]) =>
    (
      await lookupFeatures(client, table, registry, {
        views: [{ view: 'last_payment', features: [{ feature: 'amount', outputName: 'amount' }] }],
        entities: customers.map((customer_id) => ({ customer_id })),
      })
    ).map((r) => (r.amount?.status === 'PRESENT' ? r.amount.value : r.amount?.status));
  const consistency = () =>
    verifyOnline({
      client,
      table,
      registry,
      offline: localOfflineValues(registry, dataDir, 'local'),
      view: 'last_payment',
    });
  const waitingLogs = async () =>
    (await readdir(pushLogDir(dataDir, 'local', 'payments'))).filter((f) =>
      /^\d.*\.jsonl$/.test(f),
    );
  return {
    client,
    table,
    dataDir,
    push,
    ingest,
    compact,
    materialize,
    amounts,
    consistency,
    waitingLogs,
  };
}

describe('a materialization that runs before the push logs are compacted', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('does not put an older pushed value back online over a later tied push', async () => {
    const env = await environment();
    const at = new Date(Date.now() - hour).toISOString();
    // Two pushes of one entity with the same event and created time: the later one wins.
    await env.push([paymentRow(at, { customer_id: 'T1', amount: 1 })]);
    await env.compact();
    await env.push([paymentRow(at, { customer_id: 'T1', amount: 2 })]);
    expect(await env.amounts(['T1'])).toEqual([2]);
    // The second push's log still waits. Materialization reads the first push's row (with its
    // fstore_seq), which beat the item's missing sequence: the older value came back online.
    const [run] = await env.materialize();
    expect(run?.status).toBe('succeeded');
    expect(await env.amounts(['T1'])).toEqual([2]);
    expect(await env.waitingLogs()).toEqual([]);
    expect((await env.consistency()).mismatches).toEqual([]);
  });

  it('stops before reading a view whose push logs could not be ingested, naming its source', async () => {
    const env = await environment();
    const at = new Date(Date.now() - hour).toISOString();
    await env.push([paymentRow(at, { customer_id: 'F1', amount: 1 })]);
    await env.compact();
    await env.push([paymentRow(at, { customer_id: 'F1', amount: 2 })]);
    const error = await materializeLocal({
      registry,
      dataDir: env.dataDir,
      env: 'local',
      client: env.client,
      table: env.table,
      views: ['last_payment'],
      ingestPushLogs: async () => {
        throw new Error('the push logs of source "payments" is in use by another fstore process');
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaterializationError);
    expect((error as Error).message).toContain(
      'last_payment was not materialized: the push logs waiting for source "payments" could not be ingested first',
    );
    expect(await env.amounts(['F1'])).toEqual([2]);
    expect(await env.waitingLogs()).toHaveLength(1);
  });

  it('leaves online equal to the offline point-in-time values for every entity (issue 17 §3)', async () => {
    const env = await environment();
    const now = Date.now();
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    const customers = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6'];
    const pushed = customers.map((customer_id, i) =>
      paymentRow(at(2 * hour), { customer_id, account_id: i, amount: i + 1 }),
    );
    await env.push(pushed);
    // The overlapping file, ingested after the push but before its log is compacted:
    await env.ingest([
      pushed[0] as Record<string, unknown>, // C1: the very same row
      { ...pushed[1], amount: 200 }, // C2: same keys and times, another value (the push is later)
      paymentRow(at(3 * hour), { customer_id: 'C3', amount: 300 }), // C3: older than the push
      paymentRow(at(hour), { customer_id: 'C4', amount: 400 }), // C4: newer than the push
      paymentRow(at(2 * hour), { customer_id: 'C5', amount: 500, created_ts: at(hour) }), // C5: created later
      paymentRow(at(4 * hour), { customer_id: 'C7', amount: 700 }), // C7: never pushed
    ]);
    const [run] = await env.materialize();
    expect(run?.status).toBe('succeeded');
    expect(await env.amounts([...customers, 'C7'])).toEqual([1, 2, 3, 400, 500, 6, 700]);
    const check = await env.consistency();
    expect(check.mismatches).toEqual([]);
    expect(check.items).toBe(7);
    // The materialization ingested the push log: nothing is left to change offline.
    expect(await env.compact()).toEqual([]);
    expect((await env.consistency()).mismatches).toEqual([]);
  });
});

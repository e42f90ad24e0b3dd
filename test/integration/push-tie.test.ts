import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { executePush } from '../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { appendPushLog } from '../../lib/push/push-log.ts';
import { localOfflineValues, verifyOnline } from '../../lib/quality/verify-online.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
let dynamo: LocalDynamo;

describe('two pushes tied on keys, event time and created time', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('the later push wins online and offline: online equals the offline point-in-time value', async () => {
    const client = localDynamoClient(dynamo.endpoint);
    const table = 'fstore-push-tie';
    await ensureLocalTable(client, table);
    const dataDir = await makeTempDir('push-tie');
    const push = (amount: number) =>
      executePush(
        {
          registry,
          online: { client, table },
          offline: async (source, rows) => {
            await appendPushLog(dataDir, 'local', source, rows);
          },
        },
        defaultPushLimits,
        'payments',
        { rows: [paymentRow(at, { customer_id: 'T1', amount })], to: 'online_and_offline' },
      );
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const amount = async () =>
      (
        await lookupFeatures(client, table, registry, {
          views: [
            { view: 'last_payment', features: [{ feature: 'amount', outputName: 'amount' }] },
          ],
          entities: [{ customer_id: 'T1' }],
        })
      ).map((r) => r.amount?.value);
    // Many pairs in the same second: log names must sort in write order, not by chance.
    for (const [first, second] of [
      [1, 2],
      [3, 4],
      [5, 6],
    ] as const) {
      await push(first);
      const later = await push(second);
      expect(later.online?.views).toContainEqual({
        view: 'last_payment',
        written: 1,
        skippedAsOlder: 0,
      });
      expect(await amount()).toEqual([second]);
    }
    const [compacted] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(compacted).toMatchObject({ ingested: 6, failed: [] });
    const [run] = await materializeLocal({
      registry,
      dataDir,
      env: 'local',
      client,
      table,
      views: ['last_payment'],
    });
    expect(run?.status).toBe('succeeded');
    expect(await amount()).toEqual([6]);
    const check = await verifyOnline({
      client,
      table,
      registry,
      offline: localOfflineValues(registry, dataDir, 'local'),
      view: 'last_payment',
    });
    expect(check.mismatches).toEqual([]);
    expect(check.items).toBe(1);
  });

  it('counts as skippedAsOlder only rows the stored item beats, never a full tie', async () => {
    const client = localDynamoClient(dynamo.endpoint);
    const table = 'fstore-push-skipped';
    await ensureLocalTable(client, table);
    const event = new Date(Date.now() - 3_600_000);
    const minutesAfter = (minutes: number) =>
      new Date(event.getTime() + minutes * 60_000).toISOString();
    const push = async (created: string, amount: number) =>
      (
        await executePush({ registry, online: { client, table } }, defaultPushLimits, 'payments', {
          rows: [
            paymentRow(event.toISOString(), { customer_id: 'K1', amount, created_ts: created }),
          ],
          to: 'online',
        })
      ).online?.views.find((v) => v.view === 'last_payment');
    expect(await push(minutesAfter(2), 1)).toMatchObject({ written: 1, skippedAsOlder: 0 });
    // Same event time, earlier created time: older by the winner rule.
    expect(await push(minutesAfter(1), 2)).toMatchObject({ written: 0, skippedAsOlder: 1 });
    // Same event and created time: not older, the later push wins.
    expect(await push(minutesAfter(2), 3)).toMatchObject({ written: 1, skippedAsOlder: 0 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
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

async function storedAmounts(dataDir: string, customer: string): Promise<number[]> {
  const session = await openDuckdb();
  try {
    const glob = `${offlineRoot(dataDir, 'local')}/payments/*/*.parquet`;
    const rows = await queryRows(
      session.connection,
      `SELECT amount FROM read_parquet('${glob}') WHERE customer_id = '${customer}' ORDER BY fstore_seq`,
    );
    return rows.map((r) => Number(r.amount));
  } finally {
    session.close();
  }
}

describe('a push is identified by its push id, not by its content', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('three tied pushes A, B, A: the third is a new push, so offline the winner is A, as online', async () => {
    const client = localDynamoClient(dynamo.endpoint);
    const table = 'fstore-push-identity';
    await ensureLocalTable(client, table);
    const dataDir = await makeTempDir('push-identity-aba');
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const push = (amount: number) =>
      executePush(
        {
          registry,
          online: { client, table },
          offline: async (source, rows, push) => {
            await appendPushLog(dataDir, 'local', source, rows, push.pushId);
          },
        },
        defaultPushLimits,
        'payments',
        { rows: [paymentRow(at, { customer_id: 'ABA', amount })], to: 'online_and_offline' },
      );
    await push(1);
    await push(2);
    await push(1);
    const online = await lookupFeatures(client, table, registry, {
      views: [{ view: 'last_payment', features: [{ feature: 'amount', outputName: 'amount' }] }],
      entities: [{ customer_id: 'ABA' }],
    });
    expect(online.map((r) => r.amount?.value)).toEqual([1]);

    const [compacted] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(compacted).toMatchObject({ ingested: 3, alreadyIngested: 0, rows: 3, failed: [] });
    expect(await storedAmounts(dataDir, 'ABA')).toEqual([1, 2, 1]);
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

  it('A, then B after A was compacted, then A again: the third A lands too', async () => {
    const dataDir = await makeTempDir('push-identity-later');
    const at = '2026-03-01T11:00:00Z';
    const push = (amount: number) =>
      executePush(
        {
          registry,
          now: () => Date.parse('2026-03-01T12:00:00Z'),
          offline: async (source, rows, push) => {
            await appendPushLog(dataDir, 'local', source, rows, push.pushId);
          },
        },
        defaultPushLimits,
        'payments',
        { rows: [paymentRow(at, { customer_id: 'LATER', amount })], to: 'offline' },
      );
    await push(1);
    await compactPushLogs({ registry, dataDir, env: 'local' });
    await push(2);
    await push(1);
    const [compacted] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(compacted).toMatchObject({ ingested: 2, alreadyIngested: 0, rows: 2 });
    expect(await storedAmounts(dataDir, 'LATER')).toEqual([1, 2, 1]);
  });
});

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { pushEventHandler } from '../../lib/push/push-event.ts';
import { dynamoPushIdempotency } from '../../lib/push/push-idempotency.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { appendPushLog } from '../../lib/push/push-log.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
const table = 'fstore-key-reuse-online';
const recordsTable = 'fstore-key-reuse-push-idempotency';
let dynamo: LocalDynamo;
let setup: DynamoDBClient;
const at = '2026-03-01T11:00:00Z';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('an Idempotency-Key used again after its record expired', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
    setup = localDynamoClient(dynamo.endpoint);
    await ensureLocalTable(setup, table);
    await ensureLocalTable(setup, recordsTable);
  });
  afterAll(async () => {
    setup.destroy();
    await dynamo.close();
  });

  it('is a new push (200, not replayed) whose other rows land offline too', async () => {
    const dataDir = await makeTempDir('key-reuse');
    const client = localDynamoClient(dynamo.endpoint);
    const handle = pushEventHandler({
      registry,
      limits: defaultPushLimits,
      client,
      table,
      now: () => Date.parse('2026-03-01T12:00:00Z'),
      idempotency: dynamoPushIdempotency({
        client,
        table: recordsTable,
        expiresAfterSeconds: 1,
        inProgressExpiryMs: 300,
      }),
      offline: async (source, rows, push) => {
        await appendPushLog(dataDir, 'local', source, rows, push.pushId);
      },
    });
    const post = (body: unknown) =>
      handle({
        rawPath: '/v1/push/payments',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'producer-1:batch-1' },
        body: JSON.stringify(body),
        requestContext: { http: { method: 'POST' } },
      });
    const first = await post({ rows: [paymentRow(at, { customer_id: 'K1', amount: 1 })] });
    expect(first.statusCode).toBe(200);
    await compactPushLogs({ registry, dataDir, env: 'local' });
    await sleep(2_100); // the key's record expires (expiresAfterSeconds 1)
    // A producer whose counter restarted: same key, other rows. The server runs it and answers 200.
    const second = await post({ rows: [paymentRow(at, { customer_id: 'K2', amount: 2 })] });
    expect(second.statusCode).toBe(200);
    expect(second.headers?.['idempotent-replayed']).toBeUndefined();
    const [compacted] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(compacted).toMatchObject({ ingested: 1, alreadyIngested: 0, rows: 1 });
    const manifest = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
    expect(manifest.filter((r) => r.source === 'payments').reduce((s, r) => s + r.rows, 0)).toBe(2);
  });
});

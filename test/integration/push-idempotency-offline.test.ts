import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { type PushHttpEvent, pushEventHandler } from '../../lib/push/push-event.ts';
import { dynamoPushIdempotency } from '../../lib/push/push-idempotency.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { appendPushLog } from '../../lib/push/push-log.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
const table = 'fstore-idem-offline-online';
const recordsTable = 'fstore-idem-offline-push-idempotency';
let dynamo: LocalDynamo;
let setup: DynamoDBClient;
const at = '2026-03-01T11:00:00Z';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let keys = 0;
const newKey = () => `scope-${process.pid}-${++keys}-${Date.now()}`;

/**
 * The push route of one data folder on dynalite with Idempotency-Key records; `failSuccessRecords`
 * makes the next n stores of a push's answer (Powertools' UpdateItem) fail, as a throttled table.
 */
function pushRoute(dataDir: string) {
  const client = localDynamoClient(dynamo.endpoint);
  let failSuccessRecords = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string };
      if (
        context.commandName === 'UpdateItemCommand' &&
        input.TableName === recordsTable &&
        failSuccessRecords > 0
      ) {
        failSuccessRecords -= 1;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
          name: 'ProvisionedThroughputExceededException',
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'failSuccessRecords' },
  );
  const handle = pushEventHandler({
    registry,
    limits: defaultPushLimits,
    client,
    table,
    now: () => Date.parse('2026-03-01T12:00:00Z'),
    idempotency: dynamoPushIdempotency({
      client,
      table: recordsTable,
      expiresAfterSeconds: 3_600,
      inProgressExpiryMs: 300,
    }),
    offline: async (source, rows, push) => {
      await appendPushLog(dataDir, 'local', source, rows, push.pushId);
    },
  });
  return {
    failNextSuccessRecord: () => {
      failSuccessRecords = 1;
    },
    post: async (
      source: string,
      body: unknown,
      key: string,
      authorizer?: NonNullable<PushHttpEvent['requestContext']['authorizer']>,
    ) => {
      const answer = await handle({
        rawPath: `/v1/push/${source}`,
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
        requestContext: { http: { method: 'POST' }, ...(authorizer ? { authorizer } : {}) },
      });
      // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
      return { status: answer.statusCode, json: JSON.parse(answer.body) as Record<string, any> };
    },
  };
}

async function storedRows(dataDir: string, source: string): Promise<number> {
  const manifest = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
  return manifest.filter((r) => r.source === source).reduce((sum, r) => sum + r.rows, 0);
}

const iamCaller = (role: string, session: string) => ({
  iam: {
    accountId: '123456789012',
    userArn: `arn:aws:sts::123456789012:assumed-role/${role}/${session}`,
  },
});

describe('Idempotency-Key and the offline push log', () => {
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

  it('a push whose answer could not be stored runs again on retry, but its rows land offline once', async () => {
    const dataDir = await makeTempDir('push-idem-offline');
    const route = pushRoute(dataDir);
    const key = newKey();
    const body = { rows: [paymentRow(at, { customer_id: 'R1' })] };
    route.failNextSuccessRecord();
    expect((await route.post('payments', body, key)).status).toBe(503);
    await sleep(400); // the in-progress hold of the key expires
    expect((await route.post('payments', body, key)).status).toBe(200);
    const [compacted] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(compacted).toMatchObject({ ingested: 1, alreadyIngested: 1, rows: 1 });
    expect(await storedRows(dataDir, 'payments')).toBe(1);
  });

  it('the retry lands once also when the first log was already compacted', async () => {
    const dataDir = await makeTempDir('push-idem-offline-later');
    const route = pushRoute(dataDir);
    const key = newKey();
    const body = { rows: [paymentRow(at, { customer_id: 'R2' })] };
    route.failNextSuccessRecord();
    expect((await route.post('payments', body, key)).status).toBe(503);
    await compactPushLogs({ registry, dataDir, env: 'local' });
    await sleep(400);
    expect((await route.post('payments', body, key)).status).toBe(200);
    const [again] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(again).toMatchObject({ ingested: 0, alreadyIngested: 1, rows: 0 });
    expect(await storedRows(dataDir, 'payments')).toBe(1);
  });

  it('scopes a key by source: the same key on two sources is two pushes, each landing once', async () => {
    const dataDir = await makeTempDir('push-idem-scope-source');
    const route = pushRoute(dataDir);
    const key = newKey();
    const payments = { rows: [paymentRow(at, { customer_id: 'S1' })] };
    const audit = {
      rows: [{ customer_id: 'S1', note: 'hello', event_ts: at }],
      to: 'offline',
    };
    expect((await route.post('payments', payments, key)).status).toBe(200);
    expect((await route.post('audit', audit, key)).status).toBe(200);
    const replay = await route.post('audit', audit, key);
    expect(replay.status).toBe(200);
    await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(await storedRows(dataDir, 'payments')).toBe(1);
    expect(await storedRows(dataDir, 'audit')).toBe(1);
  });

  it('scopes a key by caller: two IAM principals with one key do not collide; one principal across sessions does', async () => {
    const dataDir = await makeTempDir('push-idem-scope-caller');
    const route = pushRoute(dataDir);
    const key = newKey();
    const first = { rows: [paymentRow(at, { customer_id: 'P1', amount: 1 })] };
    const second = { rows: [paymentRow(at, { customer_id: 'P1', amount: 2 })] };
    expect((await route.post('payments', first, key, iamCaller('producer-a', 's1'))).status).toBe(
      200,
    );
    expect((await route.post('payments', second, key, iamCaller('producer-b', 's1'))).status).toBe(
      200,
    );
    // The same role in a new session (credentials renewed) is the same caller: 422 for other rows.
    const reused = await route.post('payments', second, key, iamCaller('producer-a', 's2'));
    expect(reused.status).toBe(422);
    expect(reused.json.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(await storedRows(dataDir, 'payments')).toBe(2);
  });
});

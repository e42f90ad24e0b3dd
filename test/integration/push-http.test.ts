import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLookupHandler,
  localLambdaContext,
  readLookupConfig,
} from '../../lambdas/online-lookup/handler.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { type LocalHttpServer, startHttpServer } from '../../lib/local/http-server.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { pushEventHandler } from '../../lib/push/push-event.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';

const registry = pushRegistry();
const table = 'fstore-push-online';
let dynamo: LocalDynamo;
let server: LocalHttpServer;
const client = () => localDynamoClient(dynamo.endpoint);
const hour = 3_600_000;
const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

async function post(path: string, body: unknown, contentType = 'application/json') {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field below
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

async function lookup(view: string, entity: Record<string, unknown>) {
  const { json } = await post(`/v1/feature-views/${view}`, { entities: [entity] });
  return json.results[0].features as Record<
    string,
    { value: unknown; status: string; eventTimestamp?: string }
  >;
}

describe('POST /v1/push/{source} on the local server, against dynalite', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
    const setup = client();
    await ensureLocalTable(setup, table);
    const lookupHandler = createLookupHandler({
      registry,
      client: setup,
      config: readLookupConfig({ TABLE_NAME: table }),
    });
    server = await startHttpServer((event) => lookupHandler(event, localLambdaContext), {
      port: 0,
      maxBodyBytes: 4_096,
      push: pushEventHandler({
        registry,
        limits: { ...defaultPushLimits, maxBodyBytes: 4_096 },
        client: setup,
        table,
      }),
    });
  });
  afterAll(async () => {
    await server.close();
    await dynamo.close();
  });

  it('writes every online passthrough view, and a lookup right after the answer returns the values', async () => {
    const at = iso(hour);
    const pushed = await post('/v1/push/payments', {
      to: 'online',
      rows: [paymentRow(at, { customer_id: 'V1', account_id: 101, amount: 42.25, flagged: true })],
    });
    expect(pushed.status).toBe(200);
    expect(pushed.json).toMatchObject({
      source: 'payments',
      rows: 1,
      to: 'online',
      online: {
        written: 2,
        skippedAsOlder: 0,
        views: expect.arrayContaining([
          { view: 'last_payment', written: 1, skippedAsOlder: 0 },
          { view: 'account_flag', written: 1, skippedAsOlder: 0 },
        ]),
        notUpdated: [{ view: 'payment_stats', reason: expect.stringContaining('aggregation') }],
      },
    });
    const payment = await lookup('last_payment', { customer_id: 'V1' });
    expect(payment.amount).toMatchObject({ value: 42.25, status: 'PRESENT' });
    expect(payment.scores?.value).toEqual([0.5, 1]);
    expect((await lookup('account_flag', { account_id: 101 })).flagged).toMatchObject({
      value: true,
      status: 'PRESENT',
    });
  });

  it('skips a row older than the one stored, counts it, and keeps the newer value', async () => {
    const newer = paymentRow(iso(hour), { customer_id: 'V2', account_id: 102, amount: 5 });
    expect((await post('/v1/push/payments', { to: 'online', rows: [newer] })).status).toBe(200);
    const older = paymentRow(iso(2 * hour), { customer_id: 'V2', account_id: 102, amount: 9 });
    const answer = await post('/v1/push/payments', { to: 'online', rows: [older] });
    expect(answer.status).toBe(200);
    expect(answer.json.online).toMatchObject({ written: 0, skippedAsOlder: 2 });
    expect((await lookup('last_payment', { customer_id: 'V2' })).amount?.value).toBe(5);
  });

  it('writes nothing when one row is bad (Infinity sent as 1e999) and names its index, field and reason', async () => {
    const good = JSON.stringify(paymentRow(iso(hour), { customer_id: 'V3', account_id: 103 }));
    const bad = JSON.stringify(
      paymentRow(iso(hour), { customer_id: 'V4', account_id: 104, amount: 7 }),
    ).replace('"amount":7', '"amount":1e999');
    const answer = await post('/v1/push/payments', `{"to":"online","rows":[${good},${bad}]}`);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({
      code: 'INVALID_ROW',
      details: { path: '$.rows[1].amount', row: 1, field: 'amount' },
    });
    expect((await lookup('last_payment', { customer_id: 'V3' })).amount?.status).toBe('NOT_FOUND');
    expect((await lookup('account_flag', { account_id: 103 })).flagged?.status).toBe('NOT_FOUND');
  });

  it('answers 400 naming the fix for "to": "online" on a source no online view reads', async () => {
    const answer = await post('/v1/push/audit', {
      to: 'online',
      rows: [{ customer_id: 'C1', note: 'x', event_ts: iso(hour) }],
    });
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('NO_ONLINE_VIEWS');
    expect(answer.json.error.message).toContain('online: true');
  });

  it('answers 501 for the offline targets on a server without an offline store, and writes nothing online', async () => {
    const row = paymentRow(iso(hour), { customer_id: 'V5', account_id: 105 });
    const answer = await post('/v1/push/payments', { rows: [row] });
    expect(answer.status).toBe(501);
    expect(answer.json.error).toMatchObject({ code: 'OFFLINE_PUSH_UNAVAILABLE' });
    expect((await lookup('last_payment', { customer_id: 'V5' })).amount?.status).toBe('NOT_FOUND');
  });

  it('keeps the lookup guards: 404 for an unknown source, 415 without JSON, 413 over the body limit, 405 for GET', async () => {
    const row = paymentRow(iso(hour));
    expect((await post('/v1/push/paymnets', { to: 'online', rows: [row] })).json.error.code).toBe(
      'UNKNOWN_SOURCE',
    );
    expect((await post('/v1/push/payments', { rows: [row] }, 'text/plain')).status).toBe(415);
    const big = await post('/v1/push/payments', {
      to: 'online',
      rows: Array.from({ length: 40 }, (_, i) => paymentRow(iso(hour), { customer_id: `B${i}` })),
    });
    expect(big.status).toBe(413);
    expect(big.json.error.details.limit).toBe(4_096);
    const get = await fetch(`${server.url}/v1/push/payments`);
    expect(get.status).toBe(405);
  });
});

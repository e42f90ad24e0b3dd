import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { type LocalHttpServer, startHttpServer } from '../../lib/local/http-server.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { pushEventHandler } from '../../lib/push/push-event.ts';
import {
  dynamoPushIdempotency,
  type PushIdempotencyOptions,
} from '../../lib/push/push-idempotency.ts';
import { defaultPushLimits } from '../../lib/push/push-limits.ts';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';

const registry = pushRegistry();
const table = 'fstore-idem-online';
const recordsTable = 'fstore-idem-push-idempotency';
let dynamo: LocalDynamo;
let setup: DynamoDBClient;
const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A push server on dynalite whose online client counts the PutItems it sends to the online
 * table and can hold them (`gate`) to keep a push in progress.
 */
async function pushServer(idempotency: Partial<PushIdempotencyOptions> | 'none' = {}): Promise<{
  server: LocalHttpServer;
  onlinePuts: () => number;
  hold: () => () => void;
  post: (
    body: unknown,
    key?: string,
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  ) => Promise<{ status: number; replayed: string | null; json: Record<string, any> }>;
}> {
  const client = localDynamoClient(dynamo.endpoint);
  let puts = 0;
  let gate: Promise<void> | undefined;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string };
      if (context.commandName === 'PutItemCommand' && input.TableName === table) {
        puts += 1;
        await gate;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countOnlinePuts' },
  );
  const server = await startHttpServer(async () => ({ statusCode: 404, headers: {}, body: '{}' }), {
    port: 0,
    maxBodyBytes: defaultPushLimits.maxBodyBytes,
    push: pushEventHandler({
      registry,
      limits: defaultPushLimits,
      client,
      table,
      ...(idempotency === 'none'
        ? {}
        : {
            idempotency: dynamoPushIdempotency({
              client,
              table: recordsTable,
              expiresAfterSeconds: 3_600,
              inProgressExpiryMs: 30_000,
              ...idempotency,
            }),
          }),
    }),
  });
  servers.push(server);
  return {
    server,
    onlinePuts: () => puts,
    hold: () => {
      let release = () => {};
      gate = new Promise((resolve) => {
        release = () => {
          gate = undefined;
          resolve();
        };
      });
      return release;
    },
    post: async (body, key) => {
      const response = await fetch(`${server.url}/v1/push/payments`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(key === undefined ? {} : { 'Idempotency-Key': key }),
        },
        body: JSON.stringify(body),
      });
      return {
        status: response.status,
        replayed: response.headers.get('idempotent-replayed'),
        // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
        json: (await response.json()) as Record<string, any>,
      };
    },
  };
}

const servers: LocalHttpServer[] = [];
let keys = 0;
const newKey = () => `test-${process.pid}-${++keys}-${Date.now()}`;

describe('Idempotency-Key on POST /v1/push/{source}, records on dynalite (Powertools idempotency)', () => {
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

  it('answers a retry with the same key and request with the first answer, and writes nothing the second time', async () => {
    const { post, onlinePuts } = await pushServer();
    const key = newKey();
    const body = { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I1' })] };
    const first = await post(body, key);
    expect(first.status).toBe(200);
    expect(first.replayed).toBeNull();
    expect(first.json.online).toMatchObject({ written: 2, skippedAsOlder: 0 });
    expect(onlinePuts()).toBe(2);
    // The same rows with their keys in another order are the same request.
    const reordered = {
      rows: body.rows.map((row) => Object.fromEntries(Object.entries(row).reverse())),
      to: 'online',
    };
    const again = await post(reordered, key);
    expect(again.status).toBe(200);
    expect(again.replayed).toBe('true');
    expect(again.json).toEqual(first.json);
    expect(onlinePuts()).toBe(2);
  });

  it('without a key, behaves as before: a resent push is sent to the store again, no replay', async () => {
    const { post, onlinePuts } = await pushServer();
    const body = { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I2' })] };
    expect((await post(body)).json.online).toMatchObject({ written: 2 });
    const again = await post(body);
    expect([again.status, again.replayed]).toEqual([200, null]);
    expect(onlinePuts()).toBe(4);
  });

  it('refuses the same key with another request with 422 IDEMPOTENCY_KEY_REUSED, writing nothing', async () => {
    const { post, onlinePuts } = await pushServer();
    const key = newKey();
    expect(
      (await post({ to: 'online', rows: [paymentRow(at(30), { customer_id: 'I3' })] }, key)).status,
    ).toBe(200);
    const other = await post(
      { to: 'online', rows: [paymentRow(at(20), { customer_id: 'I3' })] },
      key,
    );
    expect(other.status).toBe(422);
    expect(other.json.error).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      details: { path: '$headers.idempotency-key' },
    });
    expect(other.json.error.message).toContain(
      `Idempotency-Key "${key}" was used for a different push`,
    );
    expect(onlinePuts()).toBe(2);
  });

  it('answers 409 IDEMPOTENCY_KEY_IN_PROGRESS while the first push with the key is still writing', async () => {
    const { post, hold, onlinePuts } = await pushServer();
    const key = newKey();
    const body = { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I4' })] };
    const release = hold();
    const first = post(body, key);
    while (onlinePuts() === 0) await sleep(10);
    const second = await post(body, key);
    expect(second.status).toBe(409);
    expect(second.json.error.code).toBe('IDEMPOTENCY_KEY_IN_PROGRESS');
    release();
    expect((await first).status).toBe(200);
    const third = await post(body, key);
    expect([third.status, third.replayed]).toEqual([200, 'true']);
  });

  it('lets a retry take over a key whose push died in progress, once the in-progress expiry passed', async () => {
    const { post, hold, onlinePuts } = await pushServer({ inProgressExpiryMs: 300 });
    const key = newKey();
    const body = { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I5' })] };
    hold(); // never released: the first writer is stuck, as one killed mid-push
    void post(body, key).catch(() => {});
    while (onlinePuts() === 0) await sleep(10);
    const retry = await pushServer({ inProgressExpiryMs: 300 });
    expect((await retry.post(body, key)).status).toBe(409);
    await sleep(400);
    const taken = await retry.post(body, key);
    expect(taken.status).toBe(200);
    expect(taken.replayed).toBeNull();
  });

  it('keeps answers only for the configured expiry: after it, the key is free for a new push', async () => {
    const { post } = await pushServer({ expiresAfterSeconds: 1 });
    const key = newKey();
    expect(
      (await post({ to: 'online', rows: [paymentRow(at(30), { customer_id: 'I6' })] }, key)).status,
    ).toBe(200);
    expect(
      (await post({ to: 'online', rows: [paymentRow(at(20), { customer_id: 'I6' })] }, key)).status,
    ).toBe(422);
    await sleep(2_100);
    const later = await post(
      { to: 'online', rows: [paymentRow(at(20), { customer_id: 'I6' })] },
      key,
    );
    expect(later.status).toBe(200);
    expect(later.replayed).toBeNull();
  });

  it('does not spend a key on a refused push: the corrected retry with the same key is written', async () => {
    const { post, onlinePuts } = await pushServer();
    const key = newKey();
    const bad = await post(
      { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I7', amount: -1 })] },
      key,
    );
    expect(bad.status).toBe(400);
    const good = await post(
      { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I7' })] },
      key,
    );
    expect(good.status).toBe(200);
    expect(onlinePuts()).toBe(2);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['with a comma (two keys)', 'a,b'],
    ['with a space', 'a b'],
  ])(
    'refuses a key that is %s with 400 INVALID_IDEMPOTENCY_KEY, writing nothing',
    async (_, key) => {
      const { post, onlinePuts } = await pushServer();
      const answer = await post(
        { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I8' })] },
        key,
      );
      expect(answer.status).toBe(400);
      expect(answer.json.error).toMatchObject({
        code: 'INVALID_IDEMPOTENCY_KEY',
        details: { path: '$headers.idempotency-key', limit: 255 },
      });
      expect(onlinePuts()).toBe(0);
    },
  );

  it('accepts a key of 255 characters', async () => {
    const { post } = await pushServer();
    const key = `${newKey()}-`.padEnd(255, 'x');
    const answer = await post(
      { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I9' })] },
      key,
    );
    expect(answer.status).toBe(200);
  });

  it('answers 501 IDEMPOTENCY_UNAVAILABLE for a key on a server without records, writing nothing', async () => {
    const { post, onlinePuts } = await pushServer('none');
    const answer = await post(
      { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I10' })] },
      newKey(),
    );
    expect(answer.status).toBe(501);
    expect(answer.json.error.code).toBe('IDEMPOTENCY_UNAVAILABLE');
    expect(onlinePuts()).toBe(0);
  });

  it('answers 503 when the records table is unreachable, before writing anything', async () => {
    const { post, onlinePuts } = await pushServer({ table: 'fstore-no-such-records-table' });
    const answer = await post(
      { to: 'online', rows: [paymentRow(at(30), { customer_id: 'I11' })] },
      newKey(),
    );
    expect(answer.status).toBe(503);
    expect(answer.json.error.code).toBe('STORE_UNAVAILABLE');
    expect(onlinePuts()).toBe(0);
  });
});

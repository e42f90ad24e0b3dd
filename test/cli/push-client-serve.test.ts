import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushError, push } from '../../lib/client/push-client.ts';
import { makeTempDir, type RunningFstore, spawnFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const payments = defineSource({
  name: 'payments',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const lastPayment = defineFeatureView({
  name: 'last_payment', entities: [customer], source: payments,
  features: { amount: { type: 'float64', min: 0 } },
  online: true, schedule: 'rate(1 hour)',
});
`;

let serve: RunningFstore;
let endpoint: string;
const at = () => new Date(Date.now() - 60_000).toISOString();

async function amountOf(customer: string): Promise<unknown> {
  const response = await fetch(`${endpoint}/v1/feature-views/last_payment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entities: [{ customer_id: customer }] }),
  });
  const json = (await response.json()) as {
    results: { features: Record<string, { value: unknown; status: string }> }[];
  };
  return json.results[0]?.features.amount?.value ?? json.results[0]?.features.amount?.status;
}

describe('push() against fstore serve', () => {
  beforeAll(async () => {
    const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('push-client-defs'));
    const dataDir = path.join(await makeTempDir('push-client'), '.fstore');
    serve = spawnFstore(['--defs', defsDir, '--data-dir', dataDir, 'serve', '--port', '0']);
    endpoint = (await serve.waitFor(/lookup API ready on (http:\/\/\S+)/, 120_000))[1] as string;
  }, 150_000);
  afterAll(async () => {
    await serve?.stop();
  });

  it('writes rows that a lookup returns right after the answer', async () => {
    const answer = await push({
      endpoint,
      source: 'payments',
      rows: [{ customer_id: 'K1', amount: 3.5, event_ts: at() }],
      to: 'online',
    });
    expect(answer).toMatchObject({
      source: 'payments',
      rows: 1,
      online: { written: 1, views: [{ view: 'last_payment', written: 1, skippedAsOlder: 0 }] },
    });
    expect(await amountOf('K1')).toBe(3.5);
  });

  it('throws PushError naming the row and field of a refused row; nothing is written', async () => {
    const error = await push({
      endpoint,
      source: 'payments',
      rows: [
        { customer_id: 'K2', amount: 1, event_ts: at() },
        { customer_id: 'K3', amount: -1, event_ts: at() },
      ],
      to: 'online',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect(error).toMatchObject({
      status: 400,
      code: 'INVALID_ROW',
      details: { row: 1, field: 'amount', path: '$.rows[1].amount' },
      attempts: 1,
    });
    expect(await amountOf('K2')).toBe('NOT_FOUND');
  });

  it('names an unknown source with 404 UNKNOWN_SOURCE', async () => {
    const error = await push({ endpoint, source: 'paymnts', rows: [{}] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404, code: 'UNKNOWN_SOURCE' });
  });

  it('splits 5 rows into 3 requests when asked and reports the sums', async () => {
    const rows = ['S1', 'S2', 'S3', 'S4', 'S5'].map((id, i) => ({
      customer_id: id,
      amount: i,
      event_ts: at(),
    }));
    const answer = await push({
      endpoint,
      source: 'payments',
      rows,
      to: 'online',
      maxRowsPerRequest: 2,
    });
    expect(answer.requests).toHaveLength(3);
    expect(answer.online).toMatchObject({ written: 5, skippedAsOlder: 0 });
    expect(await amountOf('S5')).toBe(4);
  });
});

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const payments = defineSource({
  name: 'payments',
  schema: { customer_id: 'string', amount: 'float64', flagged: 'bool', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const lastPayment = defineFeatureView({
  name: 'last_payment', entities: [customer], source: payments,
  features: { amount: { type: 'float64', min: 0 }, flagged: 'bool' },
  online: true, schedule: 'rate(1 hour)',
});
`;

let work: string;
let args: string[];
const at = (hoursAgo: number) => new Date(Date.now() - hoursAgo * 3_600_000).toISOString();

async function amountOf(customer: string): Promise<unknown> {
  const got = await runFstore([
    ...args,
    'get',
    '--view',
    'last_payment',
    '--entity',
    `customer_id=${customer}`,
    '--json',
  ]);
  expect(got.code, got.stderr).toBe(0);
  const [result] = JSON.parse(got.stdout) as {
    features: Record<string, { value: unknown; status: string }>;
  }[];
  return result?.features.amount?.status === 'PRESENT'
    ? result.features.amount.value
    : result?.features.amount?.status;
}

describe('fstore push', () => {
  beforeAll(async () => {
    work = await makeTempDir('push');
    const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('push-defs'));
    args = ['--defs', defsDir, '--data-dir', path.join(work, '.fstore')];
  });

  it('writes a JSON-lines file online: get returns the values right after', async () => {
    const file = path.join(work, 'rows.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ customer_id: 'C1', amount: 4.5, flagged: true, event_ts: at(1) })}\n\n${JSON.stringify({ customer_id: 'C2', amount: 7, flagged: false, event_ts: at(1) })}\n`,
    );
    const pushed = await runFstore([...args, 'push', '--source', 'payments', '--file', file]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain(
      'pushed 2 rows of payments online: last_payment 2 written, 0 skipped as older',
    );
    expect(await amountOf('C1')).toBe(4.5);
    expect(await amountOf('C2')).toBe(7);
  });

  it('writes a CSV file with typed cells, and skips rows older than the stored ones', async () => {
    const file = path.join(work, 'rows.csv');
    await writeFile(
      file,
      `customer_id,amount,flagged,event_ts\nC3,12.25,true,${at(1)}\nC1,99,false,${at(5)}\n`,
    );
    const pushed = await runFstore([
      ...args,
      'push',
      '--source',
      'payments',
      '--file',
      file,
      '--json',
    ]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout).online).toMatchObject({ written: 1, skippedAsOlder: 1 });
    expect(await amountOf('C3')).toBe(12.25);
    expect(await amountOf('C1')).toBe(4.5);
  });

  it('writes nothing when one row is bad, naming its line, field and reason', async () => {
    const file = path.join(work, 'bad.jsonl');
    await writeFile(
      file,
      [
        JSON.stringify({ customer_id: 'C4', amount: 1, flagged: true, event_ts: at(1) }),
        JSON.stringify({ customer_id: 'C5', amount: -3, flagged: true, event_ts: at(1) }),
      ].join('\n'),
    );
    const pushed = await runFstore([...args, 'push', '--source', 'payments', '--file', file]);
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toContain('bad.jsonl line 2: amount: amount = -3 is below min 0');
    expect(pushed.stderr).toContain('nothing was written');
    expect(await amountOf('C4')).toBe('NOT_FOUND');
  });

  it('refuses an unknown source', async () => {
    const file = path.join(work, 'rows.jsonl');
    const unknown = await runFstore([...args, 'push', '--source', 'paymnts', '--file', file]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('did you mean "payments"');
  });

  it('adds the rows to the offline store by default, where a training set reads them', async () => {
    const file = path.join(work, 'offline.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ customer_id: 'O1', amount: 8, flagged: false, event_ts: at(2) })}\n`,
    );
    const pushed = await runFstore([...args, 'push', '--source', 'payments', '--file', file]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain(
      '1 row of payments added to the offline store (1 push log ingested)',
    );
    expect(await amountOf('O1')).toBe(8);
    const entities = path.join(work, 'entities.jsonl');
    await writeFile(entities, `${JSON.stringify({ customer_id: 'O1', event_timestamp: at(1) })}\n`);
    const out = path.join(work, 'training.csv');
    const training = await runFstore([
      ...args,
      'training-set',
      '--features',
      'last_payment:amount',
      '--entities',
      entities,
      '--out',
      out,
    ]);
    expect(training.code, training.stderr).toBe(0);
    const [header, row] = (await readFile(out, 'utf8')).trim().split('\n');
    expect(row?.split(',')[header?.split(',').indexOf('amount') ?? -1]).toBe('8.0');
    const again = await runFstore([...args, 'push', '--compact']);
    expect(again.stdout).toContain('no push logs waiting');
  });
});

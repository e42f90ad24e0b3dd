import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { scopedPushId } from '../../lib/push/push-id.ts';
import { appendPushLog } from '../../lib/push/push-log.ts';
import { validatePushRows } from '../../lib/push/validate-push-rows.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
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

  describe('with --idempotency-key', () => {
    interface Compacted {
      ingested: number;
      alreadyIngested: number;
      rows: number;
    }
    const pushJson = async (file: string, key: string) => {
      const run = await runFstore([
        ...args,
        'push',
        '--source',
        'payments',
        '--file',
        file,
        '--idempotency-key',
        key,
        '--to',
        'offline',
        '--json',
      ]);
      return run;
    };

    it('runs the same command again without landing its rows twice: the second run is answered from the first', async () => {
      const file = path.join(work, 'keyed.jsonl');
      await writeFile(
        file,
        `${JSON.stringify({ customer_id: 'K1', amount: 4, flagged: false, event_ts: at(2) })}\n`,
      );
      const first = await pushJson(file, 'nightly-2026-03-01');
      expect(first.code, first.stderr).toBe(0);
      const firstAnswer = JSON.parse(first.stdout) as { compacted: Compacted[] };
      expect(firstAnswer.compacted).toMatchObject([{ ingested: 1, rows: 1 }]);
      const second = await pushJson(file, 'nightly-2026-03-01');
      expect(second.code, second.stderr).toBe(0);
      const secondAnswer = JSON.parse(second.stdout) as {
        replayed: boolean;
        rows: number;
        compacted: Compacted[];
      };
      expect(secondAnswer).toMatchObject({ replayed: true, rows: 1, compacted: [] });
    });

    it('lands a push once when its run was lost after the log was durable: the log of the key carries the same push id', async () => {
      // What a run killed after its log was durable (before its answer was recorded) leaves.
      const { registry, source } = paymentsRegistry();
      const row = { customer_id: 'L1', amount: 6, flagged: true, event_ts: at(3) };
      const rows = validatePushRows(registry, source, [row], {
        nowMicros: epochMicrosOf(new Date().toISOString()),
        maxFutureSkewSeconds: 300,
      });
      await appendPushLog(
        path.join(work, '.fstore'),
        'local',
        source,
        rows,
        scopedPushId({ key: 'lost-answer-1', source: 'payments', to: 'offline', rows: [row] }),
      );
      const file = path.join(work, 'lost.jsonl');
      await writeFile(file, `${JSON.stringify(row)}\n`);
      const rerun = await pushJson(file, 'lost-answer-1');
      expect(rerun.code, rerun.stderr).toBe(0);
      const answer = JSON.parse(rerun.stdout) as { compacted: Compacted[] };
      expect(answer.compacted).toMatchObject([{ ingested: 1, alreadyIngested: 1, rows: 1 }]);
    });

    it('refuses the key used before for other rows, naming it, and writes nothing', async () => {
      const file = path.join(work, 'reused.jsonl');
      await writeFile(
        file,
        `${JSON.stringify({ customer_id: 'K2', amount: 5, flagged: false, event_ts: at(2) })}\n`,
      );
      const run = await pushJson(file, 'nightly-2026-03-01');
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(
        'Idempotency-Key "nightly-2026-03-01" was used for a different push to this source',
      );
      expect(await amountOf('K2')).toBe('NOT_FOUND');
    });

    it('refuses a malformed key and a key with --follow or --compact', async () => {
      const file = path.join(work, 'keyed.jsonl');
      const bad = await pushJson(file, 'two words');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('--idempotency-key may hold only letters, digits');
      const follow = await runFstore([
        ...args,
        'push',
        '--source',
        'payments',
        '--follow',
        '--idempotency-key',
        'k',
      ]);
      expect(follow.code).not.toBe(0);
      expect(follow.stderr).toContain('--idempotency-key names one push');
      const compact = await runFstore([...args, 'push', '--compact', '--idempotency-key', 'k']);
      expect(compact.code).not.toBe(0);
      expect(compact.stderr).toContain('--idempotency-key names one push');
    });
  });
});

function paymentsRegistry() {
  const customer = defineEntity({
    name: 'customer',
    joinKeys: [{ name: 'customer_id', type: 'string' }],
  });
  const payments = defineSource({
    name: 'payments',
    schema: { customer_id: 'string', amount: 'float64', flagged: 'bool', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  });
  const registry = compileRegistry([
    {
      definition: defineFeatureView({
        name: 'last_payment',
        entities: [customer],
        source: payments,
        features: { amount: { type: 'float64', min: 0 }, flagged: 'bool' },
        online: true,
        schedule: 'rate(1 hour)',
      }),
    },
  ]);
  const source = registry.sources[0];
  if (!source) throw new Error('no source');
  return { registry, source };
}

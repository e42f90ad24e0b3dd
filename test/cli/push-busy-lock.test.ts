import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { acquireProcessLock } from '../../lib/process-lock.ts';
import { pushLogDir } from '../../lib/push/push-log.ts';
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
let dataDir: string;
const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();

/** The compaction lock of `payments`' push logs, held by this (test) process as another fstore would. */
async function holdCompactionLock() {
  const dir = pushLogDir(dataDir, 'local', 'payments');
  await mkdir(dir, { recursive: true });
  return acquireProcessLock(path.join(dir, '_compact.lock'), 'the push logs of source "payments"');
}

describe('fstore push --file while another process holds the compaction lock', () => {
  beforeAll(async () => {
    work = await makeTempDir('push-busy');
    const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('push-busy-defs'));
    dataDir = path.join(work, '.fstore');
    args = ['--defs', defsDir, '--data-dir', dataDir];
  });

  it('succeeds (exit 0) with its rows online and says the logs wait for compaction; a later compaction ingests them', async () => {
    const file = path.join(work, 'rows.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ customer_id: 'L1', amount: 3, flagged: false, event_ts: hourAgo() })}\n`,
    );
    const lock = await holdCompactionLock();
    let pushed: Awaited<ReturnType<typeof runFstore>>;
    try {
      pushed = await runFstore([...args, 'push', '--source', 'payments', '--file', file, '--json']);
    } finally {
      await lock.release();
    }
    expect(pushed.code, pushed.stderr).toBe(0);
    const answer = JSON.parse(pushed.stdout);
    expect(answer.online.written).toBe(1);
    expect(answer.offline.rows).toBe(1);
    expect(answer.compacted).toEqual([]);
    expect(answer.waitingForCompaction).toEqual([
      expect.objectContaining({ source: 'payments', reason: expect.stringMatching(/pid \d+/) }),
    ]);
    expect(pushed.stderr).toMatch(/stored durably and wait for compaction/);
    const compacted = await runFstore([...args, 'push', '--compact', '--json']);
    expect(compacted.code, compacted.stderr).toBe(0);
    expect(JSON.parse(compacted.stdout).compacted).toEqual([
      expect.objectContaining({ source: 'payments', ingested: 1, rows: 1 }),
    ]);
  });
});

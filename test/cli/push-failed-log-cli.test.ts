import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { appendPushLog, failedPushLogs, pendingPushLogs } from '../../lib/push/push-log.ts';
import { validatePushRows } from '../../lib/push/validate-push-rows.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const header = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const merchant = defineEntity({ name: 'merchant', joinKeys: [{ name: 'merchant_id', type: 'string' }] });
`;
/** After the log was written, the source gained merchant_id and a view keyed by it. */
const laterDefs = `${header}
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', merchant_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const lastOrder = defineFeatureView({ name: 'last_order', entities: [customer], source: orders, features: { amount: 'float64' } });
export const merchantOrders = defineFeatureView({ name: 'merchant_orders', entities: [merchant], source: orders, features: { amount: 'float64' } });
`;

/** A push log written under the first definitions (no merchant_id), as a server would leave it. */
async function logUnderFirstDefinitions(dataDir: string): Promise<void> {
  const customer = defineEntity({
    name: 'customer',
    joinKeys: [{ name: 'customer_id', type: 'string' }],
  });
  const orders = defineSource({
    name: 'orders',
    schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  });
  const registry = compileRegistry([
    {
      definition: defineFeatureView({
        name: 'last_order',
        entities: [customer],
        source: orders,
        features: { amount: 'float64' },
      }),
    },
  ]);
  const source = registry.sources[0];
  if (!source) throw new Error('no source');
  const rows = validatePushRows(
    registry,
    source,
    [{ customer_id: 'C1', amount: 3, event_ts: '2026-03-01T11:00:00Z' }],
    { nowMicros: epochMicrosOf('2026-03-01T12:00:00Z'), maxFutureSkewSeconds: 300 },
  );
  await appendPushLog(dataDir, 'local', source, rows);
}

describe('a push log ingest refuses, from the CLI', () => {
  it('is moved aside by push --compact, listed by doctor, and replayed by push --file once fixed', async () => {
    const work = await makeTempDir('push-failed-cli');
    const dataDir = path.join(work, '.fstore');
    const defsDir = await writeDefs(
      { 'defs.ts': laterDefs },
      await makeTempDir('push-failed-defs'),
    );
    const args = ['--defs', defsDir, '--data-dir', dataDir];
    await logUnderFirstDefinitions(dataDir);
    const [waiting] = await pendingPushLogs(dataDir, 'local', 'orders');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(waiting as string, hourAgo, hourAgo);
    const before = await runFstore([...args, 'doctor']);
    expect(before.stdout).toContain('push logs waiting over 10 min (orders 1)');

    const compacted = await runFstore([...args, 'push', '--compact']);
    expect(compacted.code, compacted.stderr).toBe(1);
    expect(compacted.stdout).toContain('a push log of orders was not ingested; moved to');
    expect(compacted.stdout).toContain('column merchant_id: is empty');
    const [failed] = await failedPushLogs(dataDir, 'local', 'orders');
    if (!failed) throw new Error('no failed log');

    const doctor = await runFstore([...args, 'doctor']);
    expect(doctor.stdout).toContain('1 push log not ingested (orders 1)');
    expect(doctor.stdout).toContain(path.basename(failed.log));

    // The fix the reason names: the row gets its merchant, then the very command it prints.
    const row = JSON.parse(await readFile(failed.log, 'utf8')) as Record<string, unknown>;
    await writeFile(failed.log, `${JSON.stringify({ ...row, merchant_id: 'M1' })}\n`);
    const command = /fstore push (.+)$/m.exec(await readFile(failed.reasonFile, 'utf8'))?.[1];
    expect(command).toBe(`--source orders --file ${failed.log} --to offline`);
    const replayed = await runFstore([...args, 'push', ...(command as string).split(' ')]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain('1 row of orders added to the offline store');
    // Replayed again (the first replay's answer was lost, say): the log's push id was kept, so
    // its rows are not added twice.
    const again = await runFstore([...args, 'push', ...(command as string).split(' '), '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      compacted: [{ source: 'orders', ingested: 0, alreadyIngested: 1, rows: 0 }],
    });
  }, 120_000);
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { appendPushLog, pendingPushLogs } from '../../lib/push/push-log.ts';
import { validatePushRows } from '../../lib/push/validate-push-rows.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const refunds = defineSource({
  name: 'refunds',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const lastOrder = defineFeatureView({ name: 'last_order', entities: [customer], source: orders, features: { amount: 'float64' } });
export const lastRefund = defineFeatureView({ name: 'last_refund', entities: [customer], source: refunds, features: { amount: 'float64' } });
`;

/** A push log of `orders`, as a running server leaves it. */
async function waitingLog(dataDir: string): Promise<void> {
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
    [
      { customer_id: 'C1', amount: 1, event_ts: '2026-03-01T11:00:00Z' },
      { customer_id: 'C2', amount: 2, event_ts: '2026-03-01T11:00:00Z' },
    ],
    { nowMicros: epochMicrosOf('2026-03-01T12:00:00Z'), maxFutureSkewSeconds: 300 },
  );
  await appendPushLog(dataDir, 'local', source, rows);
}

describe('fstore compact and push logs', () => {
  it('ingests the waiting push logs of the selected sources; --dry-run only counts them', async () => {
    const dataDir = path.join(await makeTempDir('compact-push'), '.fstore');
    const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('compact-push-defs'));
    const args = ['--defs', defsDir, '--data-dir', dataDir];
    await waitingLog(dataDir);

    const dry = await runFstore([...args, 'compact', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).pushLogs).toEqual([{ source: 'orders', waiting: 1 }]);
    const other = await runFstore([...args, 'compact', '--source', 'refunds', '--json']);
    expect(other.code, other.stderr).toBe(0);
    expect(JSON.parse(other.stdout).pushLogs).toEqual([]);
    expect(await pendingPushLogs(dataDir, 'local', 'orders')).toHaveLength(1);

    const run = await runFstore([...args, 'compact']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('orders: 1 push log ingested (2 rows)');
    expect(await pendingPushLogs(dataDir, 'local', 'orders')).toEqual([]);
    const again = await runFstore([...args, 'compact', '--json']);
    expect(JSON.parse(again.stdout).pushLogs).toEqual([]);
  }, 120_000);
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { LockedError } from '../../lib/process-lock.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import { appendPushLog, pendingPushLogs } from '../../lib/push/push-log.ts';
import { validatePushRows } from '../../lib/push/validate-push-rows.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { makeTempDir, runFstore, spawnFstore, writeDefs } from '../helpers/run-fstore.ts';

const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const lastOrder = defineFeatureView({ name: 'last_order', entities: [customer], source: orders, features: { amount: 'float64' } });
`;

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

/**
 * `count` one-row push logs of `orders`, as a running server leaves them; log i has push id
 * `pushIdOf(i)` (as a keyed push would), so a test can write a retry of it.
 */
async function logs(dataDir: string, count: number, first = 0): Promise<void> {
  const source = registry.sources[0];
  if (!source) throw new Error('no source');
  for (let i = first; i < first + count; i++)
    await appendPushLog(
      dataDir,
      'local',
      source,
      validatePushRows(
        registry,
        source,
        [{ customer_id: `C${i}`, amount: i, event_ts: '2026-03-01T11:00:00Z' }],
        { nowMicros: epochMicrosOf('2026-03-01T12:00:00Z'), maxFutureSkewSeconds: 300 },
      ),
      pushIdOf(i),
    );
}

const pushIdOf = (i: number) => i.toString(16).padStart(32, '0');

async function ingests(dataDir: string): Promise<number[]> {
  const manifest = (await readManifest(offlineRoot(dataDir, 'local'))) ?? [];
  return manifest.filter((r) => r.source === 'orders').map((r) => r.rows);
}

async function setup(prefix: string) {
  const dataDir = path.join(await makeTempDir(prefix), '.fstore');
  const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir(`${prefix}-defs`));
  return { dataDir, args: ['--defs', defsDir, '--data-dir', dataDir] };
}

describe('push logs ingested in batches', () => {
  it('a compaction killed (kill -9) after a batch commit: the next run removes its logs and ingests only the new ones', async () => {
    const { dataDir, args } = await setup('batch-kill');
    await logs(dataDir, 3);
    const killed = await runFstore([...args, 'push', '--compact'], {
      env: { FSTORE_FAULT: 'ingest:after-commit' },
    });
    expect(killed.code).toBeNull(); // SIGKILL at the fault point
    expect(await ingests(dataDir)).toEqual([3]);
    expect(await pendingPushLogs(dataDir, 'local', 'orders')).toHaveLength(3);
    await logs(dataDir, 1, 3); // a push arrives before the next run

    const again = await runFstore([...args, 'push', '--compact', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).compacted).toMatchObject([
      { source: 'orders', ingested: 1, alreadyIngested: 3, rows: 1, failed: [] },
    ]);
    expect(await ingests(dataDir)).toEqual([3, 1]);
    expect(await pendingPushLogs(dataDir, 'local', 'orders')).toEqual([]);
  }, 120_000);

  it('a compaction killed (kill -9) after a batch commit: a push of that batch run again later is found ingested', async () => {
    const { dataDir, args } = await setup('batch-kill-retry');
    await logs(dataDir, 3);
    const killed = await runFstore([...args, 'push', '--compact'], {
      env: { FSTORE_FAULT: 'ingest:after-commit' },
    });
    expect(killed.code).toBeNull();
    expect(await ingests(dataDir)).toEqual([3]);
    await logs(dataDir, 1, 1); // push 1 again (its answer was lost), before the next run

    const [result] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(result).toMatchObject({ ingested: 0, alreadyIngested: 4, rows: 0 });
    expect(await ingests(dataDir)).toEqual([3]);
    expect(await pendingPushLogs(dataDir, 'local', 'orders')).toEqual([]);
  }, 120_000);

  it('a compaction killed before its commit leaves its batch unread: the next run ingests every log once', async () => {
    const { dataDir, args } = await setup('batch-kill-early');
    await logs(dataDir, 3);
    const killed = await runFstore([...args, 'push', '--compact'], {
      env: { FSTORE_FAULT: 'ingest:after-publish' },
    });
    expect(killed.code).toBeNull();
    expect(await ingests(dataDir)).toEqual([]);
    const [result] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(result).toMatchObject({ ingested: 3, alreadyIngested: 0, rows: 3 });
    expect(await ingests(dataDir)).toEqual([3]);
  }, 120_000);

  it('one process compacts a source at a time; a dead holder does not block the next', async () => {
    const { dataDir, args } = await setup('batch-lock');
    await logs(dataDir, 2);
    const holder = spawnFstore([...args, 'push', '--compact'], {
      env: { FSTORE_PAUSE_AT: 'ingest:before-commit', FSTORE_PAUSE_HOLD: '1' },
    });
    await holder.waitFor(/fstore-pause: ingest:before-commit/);
    const refused = await compactPushLogs({ registry, dataDir, env: 'local', lockWaitMs: 300 })
      .then(() => undefined)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LockedError);
    expect((refused as Error).message).toContain('push logs of source "orders"');
    expect(await ingests(dataDir)).toEqual([]);
    holder.kill('SIGKILL');
    await holder.exited;
    const [result] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(result).toMatchObject({ ingested: 2, rows: 2 });
    expect(await ingests(dataDir)).toEqual([2]);
  }, 120_000);
});

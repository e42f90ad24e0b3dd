import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { epochMicrosOf } from '../../lib/epoch-micros.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compactPushLogs } from '../../lib/push/compact-push-logs.ts';
import {
  appendPushLog,
  failedPushLogs,
  pendingPushLogs,
  pushLogDir,
  removeAbandonedLogTemporaries,
} from '../../lib/push/push-log.ts';
import { validatePushRows } from '../../lib/push/validate-push-rows.ts';
import { compileRegistry, type Registry } from '../../lib/registry/index.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const merchant = defineEntity({
  name: 'merchant',
  joinKeys: [{ name: 'merchant_id', type: 'string' }],
});
const at = '2026-03-01T11:00:00Z';
const now = epochMicrosOf('2026-03-01T12:00:00Z');

function orders(schema: Record<string, 'string' | 'float64' | 'timestamp'>) {
  return defineSource({
    name: 'orders',
    schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp', ...schema },
    timestampField: 'event_ts',
    fieldMapping: { amt: 'amount' },
  });
}

/** `last_order` over `orders`, judged per ingest by at least 5 rows and no NULL amount. */
function registryOf(
  source: ReturnType<typeof orders>,
  extra: 'merchant view' | 'none' = 'none',
): Registry {
  return compileRegistry([
    {
      definition: defineFeatureView({
        name: 'last_order',
        entities: [customer],
        source,
        features: { amount: 'float64' },
        quality: { minRows: 5, maxNullPercent: 0 },
      }),
    },
    ...(extra === 'merchant view'
      ? [
          {
            definition: defineFeatureView({
              name: 'merchant_orders',
              entities: [merchant],
              source,
              features: { amount: 'float64' },
            }),
          },
        ]
      : []),
  ]);
}

async function pushLog(dataDir: string, registry: Registry, rows: Record<string, unknown>[]) {
  const source = registry.sources.find((s) => s.name === 'orders');
  if (!source) throw new Error('no orders source');
  const valid = validatePushRows(registry, source, rows, {
    nowMicros: now,
    maxFutureSkewSeconds: 300,
  });
  return appendPushLog(dataDir, 'local', source, valid);
}

async function storedRows(dataDir: string): Promise<Record<string, unknown>[]> {
  const session = await openDuckdb();
  try {
    const glob = path.join(offlineRoot(dataDir, 'local'), 'orders', '*', '*.parquet');
    return await queryRows(
      session.connection,
      `SELECT * FROM read_parquet('${glob}', union_by_name = true) ORDER BY fstore_seq`,
    );
  } finally {
    session.close();
  }
}

describe('push logs ingest refuses do not block later logs', () => {
  it('ingests a 1-row log with a NULL feature although the view wants 5 rows per ingest and no NULLs', async () => {
    const dataDir = await makeTempDir('push-quality');
    const registry = registryOf(orders({}));
    await pushLog(dataDir, registry, [{ customer_id: 'C1', amount: null, event_ts: at }]);
    await pushLog(dataDir, registry, [{ customer_id: 'C2', amount: 2, event_ts: at }]);
    const [result] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(result).toMatchObject({ ingested: 2, rows: 2, failed: [] });
    expect((await storedRows(dataDir)).map((r) => [r.customer_id, r.amount])).toEqual([
      ['C1', null],
      ['C2', 2],
    ]);
  });

  it('reads a column the source gained after the log was written as NULL', async () => {
    const dataDir = await makeTempDir('push-new-column');
    await pushLog(dataDir, registryOf(orders({})), [
      { customer_id: 'C1', amount: 1, event_ts: at },
    ]);
    const later = registryOf(orders({ channel: 'string' }));
    const [result] = await compactPushLogs({ registry: later, dataDir, env: 'local' });
    expect(result).toMatchObject({ ingested: 1, rows: 1, failed: [] });
    const [row] = await storedRows(dataDir);
    expect(row).toMatchObject({ customer_id: 'C1', amount: 1, channel: null });
  });

  it('moves a log that still cannot be ingested aside with its reason, and ingests the later ones', async () => {
    const dataDir = await makeTempDir('push-failed');
    const before = registryOf(orders({}));
    await pushLog(dataDir, before, [{ customer_id: 'C1', amount: 1, event_ts: at }]);
    // A view keyed by a column the first log lacks: its join key cannot be NULL.
    const after = registryOf(orders({ merchant_id: 'string' }), 'merchant view');
    await pushLog(dataDir, after, [
      { customer_id: 'C2', amount: 2, merchant_id: 'M1', event_ts: at },
    ]);
    const [result] = await compactPushLogs({ registry: after, dataDir, env: 'local' });
    expect(result).toMatchObject({ ingested: 1, rows: 1 });
    expect(result?.failed).toHaveLength(1);
    expect((await storedRows(dataDir)).map((r) => r.customer_id)).toEqual(['C2']);
    expect(await pendingPushLogs(dataDir, 'local', 'orders')).toEqual([]);
    const [failed] = await failedPushLogs(dataDir, 'local', 'orders');
    expect(failed?.log).toBe(result?.failed[0]?.log);
    const reason = await readFile(failed?.reasonFile as string, 'utf8');
    expect(reason).toContain('column merchant_id: is empty');
    expect(reason).toContain('written before the source had the column(s) "merchant_id"');
    expect(reason).toContain(
      `fstore push --source orders --file ${failed?.log as string} --to offline`,
    );
    // The failed copy carries schema names (amount, not the raw amt), as fstore push reads them.
    expect(JSON.parse(await readFile(failed?.log as string, 'utf8'))).toEqual({
      customer_id: 'C1',
      amount: 1,
      event_ts: '2026-03-01T11:00:00.000000Z',
    });
    // A second run leaves the failed log alone.
    expect(await compactPushLogs({ registry: after, dataDir, env: 'local' })).toEqual([]);
  });

  it('moves a damaged log aside (a cut line) and ingests the later ones', async () => {
    const dataDir = await makeTempDir('push-damaged');
    const registry = registryOf(orders({}));
    const damaged = await pushLog(dataDir, registry, [
      { customer_id: 'C1', amount: 1, event_ts: at },
    ]);
    await writeFile(damaged, '{"customer_id":"C1","amt":1,"event_');
    await pushLog(dataDir, registry, [{ customer_id: 'C2', amount: 2, event_ts: at }]);
    const [result] = await compactPushLogs({ registry, dataDir, env: 'local' });
    expect(result).toMatchObject({ ingested: 1, rows: 1 });
    expect(result?.failed).toHaveLength(1);
    expect((await storedRows(dataDir)).map((r) => r.customer_id)).toEqual(['C2']);
    const [failed] = await failedPushLogs(dataDir, 'local', 'orders');
    expect(await readFile(failed?.log as string, 'utf8')).toBe(
      '{"customer_id":"C1","amt":1,"event_',
    );
  });

  it('removes the temporary file of a dead writer, never a live one', async () => {
    const dataDir = await makeTempDir('push-tmp');
    const dir = pushLogDir(dataDir, 'local', 'orders');
    await pushLog(dataDir, registryOf(orders({})), [
      { customer_id: 'C1', amount: 1, event_ts: at },
    ]);
    const dead = path.join(dir, `20260301T110000.000000-aa.jsonl.${2 ** 22 + 12_345}.tmp`);
    const live = path.join(dir, `20260301T110000.000001-bb.jsonl.${process.pid}.tmp`);
    await writeFile(dead, '{"half":');
    await writeFile(live, '{"half":');
    expect(await removeAbandonedLogTemporaries(dataDir, 'local', 'orders')).toEqual([dead]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([path.basename(live)]);
  });
});

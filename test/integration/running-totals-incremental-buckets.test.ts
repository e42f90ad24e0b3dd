import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { runningTotalsDir } from '../../lib/offline/running-totals.ts';
import { bucketsDir } from '../../lib/offline/running-totals-buckets.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const spend = defineAggregationView({
  name: 'spend',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum', 'count', 'avg'], windows: ['1d', '7d', '30d'] } },
});

const t0 = Date.parse('2026-03-01T00:00:00Z');
const hour = 3_600_000;
const day = 24 * hour;
const iso = (ms: number) => new Date(ms).toISOString();
const customers = Array.from({ length: 30 }, (_, i) => `C${String(i + 1).padStart(2, '0')}`);

/** Rows every 19 hours over 60 days for each customer, amounts in cents. */
const history = customers.flatMap((customer_id, c) =>
  Array.from({ length: 75 }, (_, i) => ({
    customer_id,
    amount: ((i * 37 + c * 11) % 500) / 100,
    event_ts: iso(t0 - 60 * day + i * 19 * hour + c * 60_000),
  })),
);

/** A bucket file's name with the inode and mtime it has now. */
async function bucketFiles(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.parquet'));
  const entries = await Promise.all(
    names.map(async (name) => {
      const { ino, mtimeMs } = await stat(path.join(dir, name));
      return [name, `${ino}:${mtimeMs}`] as const;
    }),
  );
  return new Map(entries);
}

describe('time buckets of incremental running totals', () => {
  it('are written for the keys with new rows only, the base keeping its own buckets as they were', async () => {
    const fixture = await offlineFixture([customer, orders, spend]);
    await fixture.ingest('orders', history);
    const root = offlineRoot(fixture.dataDir, 'local');
    const dir = bucketsDir(runningTotalsDir(root, 'orders'));
    const beforeIngest = await bucketFiles(dir);
    expect(beforeIngest.size).toBe(2);

    // Late rows for two customers and the first rows of a new one.
    const late = [
      { customer_id: 'C03', amount: 1.25, event_ts: iso(t0 - 20 * day) },
      { customer_id: 'C17', amount: 2.5, event_ts: iso(t0 - 3 * day + 7) },
      { customer_id: 'N01', amount: 4, event_ts: iso(t0 - 2 * day) },
    ];
    const [refresh] = (await fixture.ingest('orders', late)).runningTotals;
    expect(refresh?.build?.kind).toBe('incremental');

    const afterIngest = await bucketFiles(dir);
    for (const [name, identity] of beforeIngest)
      expect(afterIngest.get(name), `${name} kept as it was`).toBe(identity);
    const added = [...afterIngest.keys()].filter((name) => !beforeIngest.has(name));
    expect(added).toHaveLength(2);
    const keysFile = added.find((name) => name.endsWith('.keys.parquet'));
    const rowsFile = added.find((name) => !name.endsWith('.keys.parquet'));
    const session = await openDuckdb();
    try {
      const keys = await queryRows(
        session.connection,
        `SELECT customer_id FROM read_parquet('${path.join(dir, keysFile ?? '')}') ORDER BY ALL`,
      );
      expect(keys.map((k) => k.customer_id)).toEqual(['C03', 'C17', 'N01']);
      const [rows] = await queryRows(
        session.connection,
        `SELECT count(DISTINCT fstore_key_id) AS keys FROM read_parquet('${path.join(dir, rowsFile ?? '')}')`,
      );
      expect(Number(rows?.keys)).toBe(3);
    } finally {
      session.close();
    }
  });

  it('answer as the range join after several ingests, for changed, unchanged and new keys, at and around each new row', async () => {
    const fixture = await offlineFixture([customer, orders, spend]);
    await fixture.ingest('orders', history);
    const ingests = [
      [
        { customer_id: 'C03', amount: 1.25, event_ts: iso(t0 - 20 * day) },
        { customer_id: 'C17', amount: 2.5, event_ts: iso(t0 - 3 * day + 7) },
        { customer_id: 'N01', amount: 4, event_ts: iso(t0 - 2 * day) },
      ],
      // Touches a key of the last increment again, earlier, and a key not touched so far.
      [
        { customer_id: 'C17', amount: 0.75, event_ts: iso(t0 - 40 * day) },
        { customer_id: 'C29', amount: 3, event_ts: iso(t0 + day) },
        { customer_id: 'N01', amount: 1, event_ts: iso(t0 - 2 * day + 1) },
      ],
    ];
    const times = [t0 - 41 * day, t0 - 20 * day, t0 - 3 * day + 7, t0 - 2 * day, t0, t0 + 2 * day];
    const entities = [...customers, 'N01', 'N02'].flatMap((customer_id) =>
      times.flatMap((ms) =>
        [-1, 0, 1].map((offset) => ({ customer_id, event_timestamp: iso(ms + offset) })),
      ),
    );
    const query = async (aggregations: 'range-join' | 'running-totals') =>
      (
        await fixture.trainingSet(entities, {
          request: { features: ['spend:*'] },
          aggregations,
        })
      ).records;
    for (const rows of ingests) {
      const [refresh] = (await fixture.ingest('orders', rows)).runningTotals;
      expect(refresh?.build?.kind).toBe('incremental');
      const totals = await query('running-totals');
      expect(totals).toEqual(await query('range-join'));
      expect(totals?.some((r) => r.customer_id === 'N01' && Number(r.amount_count_30d) === 2)).toBe(
        rows === ingests[1],
      );
    }
  }, 120_000);
});

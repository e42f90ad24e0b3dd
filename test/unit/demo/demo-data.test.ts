import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CustomerRows, generateDemoRows, writeDemoData } from '../../../lib/demo/index.ts';
import type { Registry } from '../../../lib/registry/index.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';
import { loadExampleRegistry } from '../../infra/synth-app.ts';

const end = new Date('2026-06-01T00:00:00Z');
const options = { customers: 50, days: 30, seed: 7, end };
const dayMs = 86_400_000;

const allRows = (
  rows: CustomerRows[],
  source: 'customer_profiles' | 'customer_contracts' | 'orders',
) => rows.flatMap((r) => r[source]);
const sha = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('generateDemoRows', () => {
  const rows = [...generateDemoRows(options)];

  it('numbers customers C000001, C000002, ... zero-padded to six digits', () => {
    expect(rows.map((r) => r.customerId).slice(0, 3)).toEqual(['C000001', 'C000002', 'C000003']);
    expect(rows).toHaveLength(50);
    expect(rows.at(-1)?.customerId).toBe('C000050');
  });

  it('gives identical rows for the same options and different rows for another seed', () => {
    expect([...generateDemoRows(options)]).toEqual(rows);
    expect([...generateDemoRows({ ...options, seed: 8 })]).not.toEqual(rows);
  });

  it('keeps every timestamp inside [end - days, end) with created time at or after event time', () => {
    for (const source of ['customer_profiles', 'customer_contracts', 'orders'] as const) {
      for (const row of allRows(rows, source)) {
        const event = row.event_ts as number;
        expect(event).toBeGreaterThanOrEqual(end.getTime() - 30 * dayMs);
        expect(event).toBeLessThan(end.getTime());
        expect(row.created_ts as number).toBeGreaterThanOrEqual(event);
        expect(row.created_ts as number).toBeLessThan(end.getTime());
      }
    }
  });

  it('satisfies the constraints declared on the example views', () => {
    for (const row of allRows(rows, 'customer_profiles')) {
      expect(row.age).toBeGreaterThanOrEqual(18);
      expect(row.age).toBeLessThanOrEqual(120);
      expect(['basic', 'standard', 'premium']).toContain(row.plan);
      expect([null, 'north', 'south', 'east', 'west']).toContain(row.region);
      if (row.monthly_charges !== null) expect(row.monthly_charges).toBeGreaterThanOrEqual(0);
      expect(row.tenure_months).toBeGreaterThanOrEqual(0);
    }
    for (const row of allRows(rows, 'customer_contracts')) {
      expect(['month_to_month', 'one_year', 'two_year']).toContain(row.contract_type);
    }
    for (const row of allRows(rows, 'orders')) {
      expect(row.amount as number).toBeGreaterThan(0);
      expect(Number.isInteger(Math.round((row.amount as number) * 100))).toBe(true);
    }
  });

  it('includes same-event-time corrections, late rows and customers without orders', () => {
    const many = [...generateDemoRows({ ...options, customers: 300 })];
    const profiles = allRows(many, 'customer_profiles');
    const keys = profiles.map((r) => `${r.customer_id}|${r.event_ts}`);
    expect(new Set(keys).size).toBeLessThan(keys.length);
    expect(
      profiles.some((r) => (r.created_ts as number) - (r.event_ts as number) >= 3_600_000),
    ).toBe(true);
    expect(many.some((c) => c.orders.length === 0)).toBe(true);
    expect(profiles.some((r) => r.region === null)).toBe(true);
  });

  it('rejects bad options naming the option', () => {
    expect(() => [...generateDemoRows({ ...options, customers: 0 })]).toThrow(
      'customers must be at least 1, got 0',
    );
    expect(() => [...generateDemoRows({ ...options, days: 1.5 })]).toThrow(
      'days must be a whole number',
    );
    expect(() => [...generateDemoRows({ ...options, end: new Date('nope') })]).toThrow(
      'end must be a valid date, got Invalid Date',
    );
  });
});

describe('writeDemoData', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await loadExampleRegistry();
  });

  it('writes one Parquet file per source with the registry column types, byte-identical on rerun', async () => {
    const first = await makeTempDir('demo');
    const second = await makeTempDir('demo');
    const summary = await writeDemoData({ ...options, registry, outDir: first, format: 'parquet' });
    await writeDemoData({ ...options, registry, outDir: second, format: 'parquet' });
    expect(summary.files.map((f) => path.basename(f.file))).toEqual([
      'customer_profiles.parquet',
      'customer_contracts.parquet',
      'orders.parquet',
    ]);
    for (const f of summary.files)
      expect(await sha(f.file)).toEqual(await sha(path.join(second, path.basename(f.file))));

    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    const described = await connection.runAndReadAll(
      `DESCRIBE SELECT * FROM read_parquet('${path.join(first, 'customer_profiles.parquet')}')`,
    );
    expect(described.getRowObjects().map((r) => `${r.column_name}:${r.column_type}`)).toEqual([
      'customer_id:VARCHAR',
      'age:INTEGER',
      'plan:VARCHAR',
      'region:VARCHAR',
      'monthly_charges:DOUBLE',
      'tenure_months:INTEGER',
      'event_ts:TIMESTAMP',
      'created_ts:TIMESTAMP',
    ]);
    const counted = await connection.runAndReadAll(
      `SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE customer_id IS NULL OR event_ts IS NULL OR plan IS NULL)::INTEGER AS bad FROM read_parquet('${path.join(first, 'customer_profiles.parquet')}')`,
    );
    const profileRows = summary.files.find((f) => f.source === 'customer_profiles')?.rows;
    expect(counted.getRowObjects()[0]).toEqual({ n: profileRows, bad: 0 });
    connection.closeSync();
    db.closeSync();
  });

  it('writes CSV with a header and ISO-8601 UTC timestamps', async () => {
    const dir = await makeTempDir('demo-csv');
    await writeDemoData({ ...options, registry, outDir: dir, format: 'csv' });
    const lines = (await readFile(path.join(dir, 'orders.csv'), 'utf8')).split('\n');
    expect(lines[0]).toBe('order_id,customer_id,amount,category,event_ts,created_ts');
    expect(lines[1]).toMatch(
      /^O\d{6}-\d{4},C\d{6},[\d.]+,\w*,\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z,\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/,
    );
  });

  it('refuses a registry without the churn example sources', async () => {
    const dir = await makeTempDir('demo-none');
    const withoutOrders = {
      ...registry,
      sources: registry.sources.filter((s) => s.name !== 'orders'),
    };
    await expect(
      writeDemoData({ ...options, registry: withoutOrders, outDir: dir, format: 'csv' }),
    ).rejects.toThrow('the registry has no source "orders"');
  });
});

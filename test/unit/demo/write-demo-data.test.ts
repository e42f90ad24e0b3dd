import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DemoFormat,
  DemoOptionsError,
  type DemoRow,
  type DemoSource,
  demoColumns,
  demoSources,
  generateDemoRows,
  writeDemoData,
} from '../../../lib/demo/index.ts';
import { HintedError } from '../../../lib/hinted-error.ts';
import type { Registry } from '../../../lib/registry/index.ts';
import { duckdbType } from '../../../lib/sql/duckdb-dialect.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';
import { columnRules, loadChurnRegistry, ruleViolationsSql } from './demo-constraints.ts';

const end = new Date('2026-06-01T00:00:00Z');
const dayMs = 86_400_000;
const options = { customers: 50, days: 30, seed: 7, end };
const generated = [...generateDemoRows(options)];
const generatedRows = (source: DemoSource) =>
  generated.flatMap((c): readonly DemoRow[] => c[source]);

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/** DuckDB column types of the written Parquet files. */
const expectedTypes: Record<DemoSource, string[]> = {
  customer_profiles: [
    'customer_id:VARCHAR',
    'age:INTEGER',
    'plan:VARCHAR',
    'region:VARCHAR',
    'monthly_charges:DOUBLE',
    'tenure_months:INTEGER',
    'event_ts:TIMESTAMP',
    'created_ts:TIMESTAMP',
  ],
  customer_contracts: [
    'customer_id:VARCHAR',
    'contract_type:VARCHAR',
    'payment_method:VARCHAR',
    'event_ts:TIMESTAMP',
    'created_ts:TIMESTAMP',
  ],
  orders: [
    'order_id:VARCHAR',
    'customer_id:VARCHAR',
    'amount:DOUBLE',
    'category:VARCHAR',
    'event_ts:TIMESTAMP',
    'created_ts:TIMESTAMP',
  ],
};

describe('writeDemoData', () => {
  let registry: Registry;
  let db: DuckDBInstance;
  let connection: DuckDBConnection;
  const dirs: string[] = [];
  const tempDir = async (prefix: string) => {
    const dir = await makeTempDir(prefix);
    dirs.push(dir);
    return dir;
  };
  const write = async (format: DemoFormat, extra: Partial<typeof options> = {}) => {
    const outDir = await tempDir(`demo-${format}`);
    const summary = await writeDemoData({ ...options, ...extra, registry, outDir, format });
    return { outDir, summary };
  };
  const query = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();

  beforeAll(async () => {
    registry = await loadChurnRegistry();
    db = await DuckDBInstance.create(':memory:');
    connection = await db.connect();
  });
  afterAll(async () => {
    connection?.closeSync();
    db?.closeSync();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  describe.each(['parquet', 'csv'] as const)('as %s', (format) => {
    let first: Awaited<ReturnType<typeof write>>;
    beforeAll(async () => {
      first = await write(format);
    });

    it('writes one file per source and summarises rows and bytes', async () => {
      const { summary, outDir } = first;
      expect(summary.files.map((f) => f.file)).toEqual(
        demoSources.map((s) => path.join(outDir, `${s}.${format}`)),
      );
      for (const f of summary.files) {
        expect(f.rows).toBe(generatedRows(f.source).length);
        expect(f.bytes).toBe((await readFile(f.file)).length);
      }
      expect(summary.totalRows).toBe(summary.files.reduce((n, f) => n + f.rows, 0));
      expect(summary.totalBytes).toBe(summary.files.reduce((n, f) => n + f.bytes, 0));
      expect(summary).toMatchObject({
        customers: 50,
        format,
        start: new Date(end.getTime() - 30 * dayMs),
        end,
      });
      // No scratch database or half-written files are left behind.
      expect((await readdir(outDir)).sort()).toEqual(
        demoSources.map((s) => `${s}.${format}`).sort(),
      );
    });

    it('writes byte-identical files for the same options, different ones for another seed', async () => {
      const again = await write(format);
      const otherSeed = await write(format, { seed: 8 });
      for (const [i, f] of first.summary.files.entries()) {
        expect(await sha256(again.summary.files[i]?.file as string)).toBe(await sha256(f.file));
        expect(await sha256(otherSeed.summary.files[i]?.file as string)).not.toBe(
          await sha256(f.file),
        );
      }
    });

    it('holds exactly the generated rows, in generation order', async () => {
      for (const f of first.summary.files) {
        // Cast as declared: CSV type detection would read int32 columns as BIGINT.
        const columns = demoColumns[f.source].map(({ name, type }) =>
          type === 'timestamp'
            ? `epoch_ms(${name})::DOUBLE AS ${name}`
            : `${name}::${duckdbType(type)} AS ${name}`,
        );
        const rows = await query(`SELECT ${columns.join(', ')} FROM '${f.file}'`);
        expect(rows).toEqual(generatedRows(f.source));
      }
    });

    it('satisfies the constraints the registry declares, read back by DuckDB', async () => {
      for (const f of first.summary.files) {
        const [violations] = await query(
          ruleViolationsSql(`'${f.file}'`, columnRules(registry, f.source)),
        );
        expect(
          Object.values(violations ?? {}).every((n) => n === 0),
          JSON.stringify(violations),
        ).toBe(true);
        const [range] = await query(
          `SELECT min(event_ts) AS min_event, max(created_ts) AS max_created, count(*) FILTER (WHERE created_ts < event_ts)::INTEGER AS early FROM '${f.file}'`,
        );
        expect(range).toBeDefined();
        const { min_event, max_created, early } = range as Record<string, unknown>;
        expect((min_event as Date).getTime()).toBeGreaterThanOrEqual(end.getTime() - 30 * dayMs);
        expect((max_created as Date).getTime()).toBeLessThan(end.getTime());
        expect(early).toBe(0);
      }
    });
  });

  it('types Parquet columns as VARCHAR, INTEGER, DOUBLE and naive TIMESTAMP holding UTC', async () => {
    const { summary } = await write('parquet');
    for (const f of summary.files) {
      const described = await query(`DESCRIBE SELECT * FROM read_parquet('${f.file}')`);
      expect(described.map((r) => `${r.column_name}:${r.column_type}`)).toEqual(
        expectedTypes[f.source],
      );
    }
    const [first] = await query(
      `SELECT event_ts FROM read_parquet('${summary.files[0]?.file}') LIMIT 1`,
    );
    expect(first?.event_ts).toEqual(new Date(generated[0]?.customer_profiles[0]?.event_ts ?? 0));
  });

  it('writes CSV with a header, ISO 8601 UTC timestamps and empty fields for NULL', async () => {
    const { summary } = await write('csv', { customers: 200 });
    const iso = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z`;
    const [orders] = summary.files.filter((f) => f.source === 'orders');
    const lines = (await readFile(orders?.file as string, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('order_id,customer_id,amount,category,event_ts,created_ts');
    const line = new RegExp(`^O\\d{6}-\\d{4},C\\d{6},\\d+(\\.\\d{1,2})?,[a-z]*,${iso},${iso}$`);
    expect(lines.slice(1).filter((l) => !line.test(l))).toEqual([]);
    expect(lines.some((l) => /,,/.test(l))).toBe(true);
    expect(lines).toHaveLength((orders?.rows ?? 0) + 1);
  });

  it('reports progress up to the number of customers', async () => {
    const calls: [number, number][] = [];
    const outDir = await tempDir('demo-progress');
    await writeDemoData({
      ...options,
      customers: 250,
      outDir,
      format: 'csv',
      onProgress: (done, total) => calls.push([done, total]),
    });
    expect(calls.at(-1)).toEqual([250, 250]);
    expect(calls.length).toBeGreaterThan(10);
    expect(calls.every(([, total]) => total === 250)).toBe(true);
    expect(calls.map(([done]) => done)).toEqual(
      [...calls.map(([done]) => done)].sort((a, b) => a - b),
    );
  });

  it('writes the built-in columns without a registry, the same bytes as with the example one', async () => {
    const withRegistry = await write('parquet');
    const outDir = await tempDir('demo-plain');
    const plain = await writeDemoData({ ...options, outDir, format: 'parquet' });
    for (const [i, f] of plain.files.entries())
      expect(await sha256(f.file)).toBe(
        await sha256(withRegistry.summary.files[i]?.file as string),
      );
  });

  it('replaces the files of an earlier run in the same folder', async () => {
    const { outDir } = await write('csv', { seed: 1 });
    const rerun = await writeDemoData({ ...options, outDir, format: 'csv' });
    const fresh = await write('csv');
    for (const [i, f] of rerun.files.entries())
      expect(await sha256(f.file)).toBe(await sha256(fresh.summary.files[i]?.file as string));
  });

  it('refuses a registry whose sources the demo data cannot fill', async () => {
    const outDir = await tempDir('demo-bad-registry');
    const withoutOrders = {
      ...registry,
      sources: registry.sources.filter((s) => s.name !== 'orders'),
    };
    await expect(
      writeDemoData({ ...options, registry: withoutOrders, outDir, format: 'csv' }),
    ).rejects.toThrow('cannot write demo data: the registry has no source "orders"');
    const retyped = {
      ...registry,
      sources: registry.sources.map((s) =>
        s.name === 'orders'
          ? {
              ...s,
              schema: s.schema.map((c) =>
                c.name === 'amount' ? { ...c, type: 'int64' as const } : c,
              ),
            }
          : s,
      ),
    };
    await expect(
      writeDemoData({ ...options, registry: retyped, outDir, format: 'csv' }),
    ).rejects.toThrow('column orders.amount is int64 in the registry but float64 in the demo data');
    const extended = {
      ...registry,
      sources: registry.sources.map((s) =>
        s.name === 'orders'
          ? { ...s, schema: [...s.schema, { name: 'coupon', type: 'string' as const }] }
          : s,
      ),
    };
    const error = await writeDemoData({
      ...options,
      registry: extended,
      outDir,
      format: 'csv',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HintedError);
    expect((error as Error).message).toBe(
      'cannot write demo data: source "orders" has a column "coupon" the demo data does not have',
    );
    expect(await readdir(outDir)).toEqual([]);
  });

  it.each([
    [{ format: 'xlsx' }, 'format', 'format must be one of parquet, csv, got "xlsx"'],
    [{ outDir: '' }, 'outDir', 'outDir must be a folder path, got ""'],
    [{ onProgress: 5 }, 'onProgress', 'onProgress must be a function, got 5'],
    [{ customers: 0 }, 'customers', 'customers must be a positive whole number, got 0'],
  ])('rejects %o naming the option', async (bad, option, message) => {
    const outDir = await tempDir('demo-bad');
    const error = await writeDemoData({
      ...options,
      outDir,
      format: 'csv',
      ...bad,
    } as Parameters<typeof writeDemoData>[0]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DemoOptionsError);
    expect((error as DemoOptionsError).option).toBe(option);
    expect((error as Error).message).toBe(message);
  });
});

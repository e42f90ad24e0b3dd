import { randomUUID } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { presentCommittedSourceFiles } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import {
  ensureRunningTotals,
  readRunningTotals,
  runningTotalsDir,
  runningTotalsView,
} from '../../lib/offline/running-totals.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { duckdbDialect, duckdbParquetFiles } from '../../lib/sql/duckdb-dialect.ts';
import { makeTempDir, runFstore, writeDefs } from '../helpers/run-fstore.ts';
import {
  fullBuild,
  keyIdProblems,
  noDifference,
  totalsDifference,
  withoutKeyIds,
} from '../helpers/running-totals-compare.ts';

const definitions = `
import { defineAggregationView, defineEntity, defineSource } from 'fstore:definitions';
export const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
export const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', qty: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
export const spend = defineAggregationView({
  name: 'spend',
  entities: [customer],
  source: orders,
  aggregations: {
    amount: { functions: ['sum', 'avg', 'last'], windows: ['7d'] },
    qty: { functions: ['sum', 'count'], windows: ['7d'] },
  },
});
`;
/** The same definitions, in process, to read and rebuild the totals the CLI wrote. */
const view = (() => {
  const customer = defineEntity({
    name: 'customer',
    joinKeys: [{ name: 'customer_id', type: 'string' }],
  });
  const orders = defineSource({
    name: 'orders',
    schema: { customer_id: 'string', amount: 'float64', qty: 'int64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  });
  const spend = defineAggregationView({
    name: 'spend',
    entities: [customer],
    source: orders,
    aggregations: {
      amount: { functions: ['sum', 'avg', 'last'], windows: ['7d'] },
      qty: { functions: ['sum', 'count'], windows: ['7d'] },
    },
  });
  const planned = runningTotalsView(
    compileRegistry([customer, orders, spend].map((definition) => ({ definition }))),
    'spend',
  );
  if (!planned) throw new Error('spend has no running totals');
  return planned;
})();

const t0 = Date.parse('2026-05-01T00:00:00Z');
/** Rows of `keys` customers every 10 minutes or so over two weeks, late ones included. */
const rows = (count: number, offset: number, keys: number) =>
  Array.from({ length: count }, (_, i) => ({
    customer_id: `C${(i * 7 + offset) % keys}`,
    amount: i % 9 === 0 ? null : ((i * 37 + offset) % 1000) / 100 + 0.01,
    qty: i % 11 === 0 ? null : (i * 13) % 17,
    event_ts: new Date(t0 - ((i * 61 + offset * 17) % 2000) * 600_000 - offset).toISOString(),
  }));

async function writeJsonl(dir: string, name: string, records: readonly object[]) {
  const file = path.join(dir, name);
  await writeFile(file, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return file;
}

/**
 * Each totals file left in the store against a full build of exactly the stored files it says
 * it covers: a crash must leave complete totals of some set of committed rows, never a mix.
 */
async function everyTotalsFileIsWhole(dataDir: string) {
  const root = offlineRoot(dataDir, 'local');
  const dir = runningTotalsDir(root, 'orders');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.parquet'));
  const session = await openDuckdb();
  const covered: number[] = [];
  try {
    for (const name of names) {
      const dialect = duckdbDialect(root);
      const { state, relations } = await readRunningTotals(
        session.connection,
        path.join(dir, name),
        view,
        dialect,
      );
      if (!relations) throw new Error(`${name} is not readable (its base is gone)`);
      expect(await keyIdProblems(session.connection, relations, ['customer_id']), name).toEqual([]);
      const files = (state.covered ?? []).map((line) =>
        path.join(root, 'orders', line.split('\t')[0] as string),
      );
      const full = await fullBuild(
        session.connection,
        { ...dialect, sourceRelation: () => duckdbParquetFiles(files) },
        view,
        path.join(dataDir, `full-${randomUUID()}.parquet`),
      );
      const difference = await totalsDifference(
        session.connection,
        full.relation,
        withoutKeyIds(relations.relation),
      );
      expect(difference, name).toEqual(
        noDifference(difference.columns.expected, difference.rows.expected),
      );
      covered.push(files.length);
    }
  } finally {
    session.close();
  }
  return covered.sort();
}

const faults = [
  { point: 'after-totals-base', covering: 'the old rows' },
  { point: 'after-totals-write', covering: 'the old rows' },
  { point: 'after-totals-rename', covering: 'the old and the new rows' },
] as const;

describe('an incremental running-totals build killed with SIGKILL (FSTORE_FAULT)', () => {
  it.each(faults)(
    'at ingest:$point leaves whole totals of $covering, and the next build extends them exactly',
    async ({ point }) => {
      const dataDir = await makeTempDir(`totals-crash-${point}`);
      const defs = await writeDefs({ 'defs.ts': definitions });
      const ingest = (file: string, env: Record<string, string> = {}) =>
        runFstore(
          ['--defs', defs, '--data-dir', dataDir, 'ingest', '--source', 'orders', '--file', file],
          { env },
        );
      const first = await ingest(await writeJsonl(dataDir, 'first.jsonl', rows(2000, 0, 30)));
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain(
        'running totals of "spend": full build (no running totals yet)',
      );
      const [firstFiles] = await everyTotalsFileIsWhole(dataDir);

      const second = await writeJsonl(dataDir, 'second.jsonl', rows(20, 3, 3));
      const killed = await ingest(second, { FSTORE_FAULT: `ingest:${point}` });
      expect(killed.code, killed.stdout + killed.stderr).toBeNull();

      // The rows were committed before the totals; the totals are whole, old or new.
      const covered = await everyTotalsFileIsWhole(dataDir);
      const root = offlineRoot(dataDir, 'local');
      const stored = () => presentCommittedSourceFiles(root, 'orders')?.length;
      expect(covered).toEqual(
        point === 'after-totals-rename' ? [firstFiles, stored()].sort() : [firstFiles],
      );

      // The next build (here a third ingest, with --json) is incremental and exact.
      const third = await runFstore([
        '--defs',
        defs,
        '--data-dir',
        dataDir,
        'ingest',
        '--source',
        'orders',
        '--file',
        await writeJsonl(dataDir, 'third.jsonl', rows(10, 5, 3)),
        '--json',
      ]);
      expect(third.code, third.stderr).toBe(0);
      expect(JSON.parse(third.stdout).runningTotals).toEqual([
        {
          view: 'spend',
          build: expect.objectContaining({
            kind: 'incremental',
            incrementRows: expect.any(Number),
          }),
        },
      ]);
      expect(await everyTotalsFileIsWhole(dataDir)).toEqual([stored()]);
      const session = await openDuckdb();
      try {
        const totals = await ensureRunningTotals(
          session.connection,
          root,
          duckdbDialect(root),
          view,
        );
        expect(totals?.built).toBe(false);
      } finally {
        session.close();
      }
    },
    120_000,
  );
});

import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { findIngestLeftovers } from '../../lib/offline/ingest-leftovers.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { sortedCopiesDir } from '../../lib/offline/sorted-copy.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';

async function storedRows(dataDir: string): Promise<number> {
  const session = await openDuckdb();
  try {
    const relation = duckdbDialect(offlineRoot(dataDir, 'local')).sourceRelation('orders');
    const rows = await queryRows(session.connection, `SELECT count(*) AS n FROM ${relation}`).catch(
      (error: unknown) => {
        if (isNoFilesError(error)) return [{ n: 0 }];
        throw error;
      },
    );
    return Number(rows[0]?.n);
  } finally {
    session.close();
  }
}

describe('fstore ingest killed while it writes the sorted copy', () => {
  let demo: string;

  beforeAll(async () => {
    const template = await makeTempDir('sorted-copy-demo');
    demo = path.join(template, 'demo');
    const generated = await runFstore([
      '--data-dir',
      template,
      'demo-data',
      ...['--customers', '100', '--days', '20', '--end', '2026-06-01', '--seed', '1'],
      ...['--format', 'csv', '--out', demo],
    ]);
    expect(generated.code, generated.stderr).toBe(0);
  }, 120_000);

  it('keeps the committed rows, leaves a temporary doctor --fix removes, and the next compact writes the copy', async () => {
    const dataDir = await makeTempDir('sorted-copy-crash');
    const ingest = ['--data-dir', dataDir, 'ingest', '--source', 'orders'];
    const killed = await runFstore([...ingest, '--file', path.join(demo, 'orders.csv')], {
      env: { FSTORE_FAULT: 'sorted-copy:before-rename' },
    });
    expect(killed.code, killed.stdout + killed.stderr).toBeNull();
    const rows = await storedRows(dataDir);
    expect(rows).toBeGreaterThan(0);

    const root = offlineRoot(dataDir, 'local');
    const dir = sortedCopiesDir(root, 'orders');
    // The copy's temporary and its key dictionary's.
    const left = (await readdir(dir)).sort();
    expect(left).toHaveLength(2);
    expect(left[0]).toMatch(/^[0-9a-f]{16}\.keys\.parquet\.\d+-[0-9a-f-]{36}\.partial$/);
    expect(left[1]).toMatch(/^[0-9a-f]{16}\.parquet\.\d+-[0-9a-f-]{36}\.partial$/);
    expect((await findIngestLeftovers(root)).leftovers.map((l) => [l.kind, l.path]).sort()).toEqual(
      left.map((name) => ['sorted-copy temporary', path.join(dir, name)]),
    );

    const fixed = await runFstore(['--data-dir', dataDir, 'doctor', '--fix']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(await readdir(dir)).toEqual([]);

    const compacted = await runFstore(['--data-dir', dataDir, 'compact', '--json']);
    expect(compacted.code, compacted.stderr).toBe(0);
    expect(JSON.parse(compacted.stdout).sortedCopies).toContain('orders');
    const written = (await readdir(dir)).sort();
    expect(written).toHaveLength(2);
    expect(written[0]).toMatch(/^[0-9a-f]{16}\.keys\.parquet$/);
    expect(written[1]).toBe(written[0]?.replace('.keys', ''));
    expect(await storedRows(dataDir)).toBe(rows);
  });

  it('leaves the copy without its dictionary and the dictionary temporary; doctor --fix removes the temporary, the next compact writes both', async () => {
    const dataDir = await makeTempDir('sorted-copy-crash');
    const killed = await runFstore(
      [
        '--data-dir',
        dataDir,
        'ingest',
        '--source',
        'orders',
        '--file',
        path.join(demo, 'orders.csv'),
      ],
      { env: { FSTORE_FAULT: 'sorted-copy:between-renames' } },
    );
    expect(killed.code, killed.stdout + killed.stderr).toBeNull();
    const root = offlineRoot(dataDir, 'local');
    const dir = sortedCopiesDir(root, 'orders');
    const left = (await readdir(dir)).sort();
    expect(left).toHaveLength(2);
    expect(left[0]).toMatch(/^[0-9a-f]{16}\.keys\.parquet\.\d+-[0-9a-f-]{36}\.partial$/);
    expect(left[1]).toMatch(/^[0-9a-f]{16}\.parquet$/);
    expect((await findIngestLeftovers(root)).leftovers.map((l) => [l.kind, l.path])).toEqual([
      ['sorted-copy temporary', path.join(dir, left[0] ?? '')],
    ]);

    const fixed = await runFstore(['--data-dir', dataDir, 'doctor', '--fix']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(await readdir(dir)).toEqual([left[1]]);

    // A copy without its dictionary is not kept: the next compact writes both again.
    const compacted = await runFstore(['--data-dir', dataDir, 'compact', '--json']);
    expect(compacted.code, compacted.stderr).toBe(0);
    expect(JSON.parse(compacted.stdout).sortedCopies).toContain('orders');
    const written = (await readdir(dir)).sort();
    expect(written).toEqual([left[1]?.replace('.parquet', '.keys.parquet'), left[1]]);
  });
});

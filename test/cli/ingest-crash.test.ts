import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { parseManifest } from '../../lib/offline/ingest-manifest.ts';
import { ingestManifestPath, offlineRoot } from '../../lib/offline/local-layout.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { makeTempDir, runFstore } from '../helpers/run-fstore.ts';

/** Every row of `orders` as the offline readers see it (the same relation training sets read). */
async function storedOrders(dataDir: string): Promise<Record<string, unknown>[]> {
  const session = await openDuckdb();
  try {
    const relation = duckdbDialect(offlineRoot(dataDir, 'local')).sourceRelation('orders');
    return await queryRows(
      session.connection,
      `SELECT * FROM ${relation} ORDER BY fstore_seq`,
    ).catch((error: unknown) => {
      if (isNoFilesError(error)) return [];
      throw error;
    });
  } finally {
    session.close();
  }
}

/** What `fstore stats` counts for a passthrough view of orders. */
async function statsRows(dataDir: string): Promise<number> {
  const result = await runFstore([
    '--data-dir',
    dataDir,
    'stats',
    '--view',
    'last_order',
    '--json',
  ]);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { rows: number }).rows;
}

const doctor = async (dataDir: string, ...flags: string[]) => {
  const result = await runFstore(['--data-dir', dataDir, 'doctor', ...flags]);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const row = result.stdout.split('\n').find((l) => l.includes('interrupted ingests │'));
  return { row: row ?? '', stdout: result.stdout };
};

/**
 * Each fault point of an ingest, what the crash leaves visible (all rows or none), and the
 * kinds of leftovers doctor must find there.
 */
const faults = [
  { point: 'after-stage', committed: false, leftovers: ['staging folder'] },
  {
    point: 'mid-publish',
    committed: false,
    leftovers: ['staging folder', 'uncommitted data file'],
  },
  {
    point: 'after-publish',
    committed: false,
    leftovers: ['staging folder', 'uncommitted data file'],
  },
  {
    point: 'before-commit',
    committed: false,
    leftovers: ['staging folder', 'uncommitted data file', 'temporary manifest'],
  },
  { point: 'after-commit', committed: true, leftovers: ['staging folder'] },
] as const;

describe('an ingest killed with SIGKILL at any step (FSTORE_FAULT)', () => {
  let demo: string;
  let clean: Record<string, unknown>[];

  beforeAll(async () => {
    const dataDir = await makeTempDir('crash-demo');
    demo = path.join(dataDir, 'demo');
    const generated = await runFstore([
      '--data-dir',
      dataDir,
      'demo-data',
      '--customers',
      '200',
      '--days',
      '60',
      '--end',
      '2026-06-01',
      '--format',
      'csv',
      '--out',
      demo,
    ]);
    expect(generated.code, generated.stderr).toBe(0);
    const ingested = await runFstore([
      '--data-dir',
      dataDir,
      'ingest',
      '--source',
      'orders',
      '--file',
      path.join(demo, 'orders.csv'),
    ]);
    expect(ingested.code, ingested.stderr).toBe(0);
    clean = await storedOrders(dataDir);
    // Many day partitions, so a crash in the middle of publishing them is a real middle.
    expect(new Set(clean.map((r) => r.dt)).size).toBeGreaterThan(10);
  }, 120_000);

  it.each(faults)(
    'at $point leaves all rows or none visible; a re-run stores the file once; doctor --fix removes what is left',
    async ({ point, committed, leftovers }) => {
      const dataDir = await makeTempDir(`crash-${point}`);
      const file = path.join(dataDir, 'orders.csv');
      await copyFile(path.join(demo, 'orders.csv'), file);
      const ingest = (env: Record<string, string> = {}) =>
        runFstore(['--data-dir', dataDir, 'ingest', '--source', 'orders', '--file', file], {
          env,
        });

      const killed = await ingest({ FSTORE_FAULT: `ingest:${point}` });
      expect(killed.code, killed.stdout + killed.stderr).toBeNull();
      expect(killed.stdout).not.toContain('ingested');

      const visible = await storedOrders(dataDir);
      expect(visible.length).toBe(committed ? clean.length : 0);
      expect(await statsRows(dataDir)).toBe(committed ? clean.length : 0);

      const rerun = await ingest();
      if (committed) {
        expect(rerun.code).toBe(1);
        expect(rerun.stderr).toContain('was already ingested into "orders"');
      } else {
        expect(rerun.code, rerun.stderr).toBe(0);
      }
      // One clean ingest: the same rows, fstore_seq included, each sequence number once.
      const stored = await storedOrders(dataDir);
      expect(stored).toEqual(clean);
      expect(new Set(stored.map((r) => r.fstore_seq)).size).toBe(clean.length);
      const records = parseManifest(
        await readFile(ingestManifestPath(dataDir, 'local'), 'utf8'),
      ).filter((r) => r.source === 'orders');
      expect(records).toHaveLength(1);

      const report = await doctor(dataDir);
      expect(report.row).toMatch(/! │ .*\d+ leftovers? of interrupted ingests, [\d.]+ (B|KiB|MiB)/);
      for (const kind of leftovers) expect(report.stdout).toContain(`  ${kind}  `);
      for (const kind of ['staging folder', 'uncommitted data file', 'temporary manifest'])
        if (!(leftovers as readonly string[]).includes(kind))
          expect(report.stdout).not.toContain(`  ${kind}  `);

      const fixed = await doctor(dataDir, '--fix');
      expect(fixed.row).toMatch(/✔ │ .*removed \d+ leftovers? of interrupted ingests/);
      expect((await doctor(dataDir)).row).toMatch(/✔ │ .*no leftovers/);
      expect(await storedOrders(dataDir)).toEqual(clean);
    },
    120_000,
  );
});

import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onlineLockPath } from '../../lib/data-paths.ts';
import { isNoFilesError, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { ingestLockPath, ingestManifestPath, offlineRoot } from '../../lib/offline/local-layout.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { makeTempDir, runFstore, spawnFstore } from '../helpers/run-fstore.ts';

/** Every row of `orders` as the offline readers see it (the relation training sets read). */
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

async function parquetFiles(dataDir: string): Promise<number> {
  const sourceDir = path.join(offlineRoot(dataDir, 'local'), 'orders');
  let count = 0;
  for (const partition of await readdir(sourceDir))
    count += (await readdir(path.join(sourceDir, partition))).length;
  return count;
}

/** Replaced files deleted right after the commit, so files on disk are the committed ones. */
const noKeeping = { env: { FSTORE_COMPACT_KEEP_REPLACED: '0' } };

const doctor = async (dataDir: string, ...flags: string[]) => {
  const result = await runFstore(['--data-dir', dataDir, 'doctor', ...flags]);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const row = result.stdout.split('\n').find((l) => l.includes('interrupted ingests │'));
  return { row: row ?? '', stdout: result.stdout };
};

/**
 * Each fault point of a compaction, whether the merge is committed, what doctor finds, and how
 * long the replaced files are kept (`0`: deleted at the commit, so a kill after it leaves them
 * as leftovers; the default keeps them, named in the manifest, so they are no leftovers).
 */
const faults = [
  {
    point: 'after-publish',
    keep: '0',
    committed: false,
    leftovers: ['staging folder', 'uncommitted data file'],
  },
  {
    point: 'before-commit',
    keep: '0',
    committed: false,
    leftovers: ['staging folder', 'uncommitted data file', 'temporary manifest'],
  },
  {
    point: 'after-commit',
    keep: '0',
    committed: true,
    leftovers: ['staging folder', 'superseded data file'],
  },
  { point: 'after-commit', keep: '60m', committed: true, leftovers: ['staging folder'] },
] as const;

describe('fstore compact', () => {
  let demo: string;
  let template: string;
  let clean: Record<string, unknown>[];
  let partitions: number;

  beforeAll(async () => {
    template = await makeTempDir('compact-demo');
    demo = path.join(template, 'demo');
    for (const seed of ['1', '2']) {
      const out = path.join(demo, seed);
      const generated = await runFstore([
        '--data-dir',
        template,
        'demo-data',
        ...['--customers', '100', '--days', '20', '--end', '2026-06-01', '--seed', seed],
        ...['--format', 'csv', '--out', out],
      ]);
      expect(generated.code, generated.stderr).toBe(0);
    }
  }, 120_000);

  /** A store with two ingests of orders, so two files in each day partition. */
  async function twoIngests(): Promise<string> {
    const dataDir = await makeTempDir('compact');
    for (const seed of ['1', '2']) {
      const ingested = await runFstore([
        '--data-dir',
        dataDir,
        'ingest',
        ...['--source', 'orders', '--file', path.join(demo, seed, 'orders.csv')],
      ]);
      expect(ingested.code, ingested.stderr).toBe(0);
    }
    clean ??= await storedOrders(dataDir);
    partitions ??= new Set(clean.map((r) => r.dt)).size;
    return dataDir;
  }

  it('merges the files of each partition and says so as JSON', async () => {
    const dataDir = await twoIngests();
    expect(await parquetFiles(dataDir)).toBe(2 * partitions);
    const result = await runFstore(['--data-dir', dataDir, 'compact', '--json'], noKeeping);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.sources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          source: 'orders',
          partitions,
          filesBefore: 2 * partitions,
          filesAfter: partitions,
        }),
      ]),
    );
    expect(report.compactionId).toMatch(/^\d{8}t\d{6}-[0-9a-f]{8}$/);
    expect(await parquetFiles(dataDir)).toBe(partitions);
    expect(await storedOrders(dataDir)).toEqual(clean);
  }, 180_000);

  it('refuses while a running server or materialization holds the online store, and changes nothing', async () => {
    const dataDir = await twoIngests();
    // This test process is alive and is not the CLI, as a running `fstore serve` would be.
    const lock = onlineLockPath(dataDir, 'local');
    await writeFile(lock, String(process.pid));
    try {
      const refused = await runFstore(['--data-dir', dataDir, 'compact']);
      expect(refused.code, refused.stdout + refused.stderr).toBe(1);
      expect(refused.stderr).toContain(`in use by another fstore process (pid ${process.pid})`);
      expect(refused.stderr).toContain('reads the files compaction replaces');
      expect(await parquetFiles(dataDir)).toBe(2 * partitions);
    } finally {
      await rm(lock, { force: true });
    }
    const compacted = await runFstore(['--data-dir', dataDir, 'compact'], noKeeping);
    expect(compacted.code, compacted.stderr).toBe(0);
    expect(await parquetFiles(dataDir)).toBe(partitions);
    expect(await storedOrders(dataDir)).toEqual(clean);
  }, 180_000);

  it.each(faults)(
    'killed at $point (replaced files kept $keep) leaves the same rows readable; a re-run finishes and doctor --fix removes what is left',
    async ({ point, keep, committed, leftovers }) => {
      const dataDir = await twoIngests();
      const killed = await runFstore(['--data-dir', dataDir, 'compact', '--source', 'orders'], {
        env: { FSTORE_FAULT: `compact:${point}`, FSTORE_COMPACT_KEEP_REPLACED: keep },
      });
      expect(killed.code, killed.stdout + killed.stderr).toBeNull();
      expect(await storedOrders(dataDir)).toEqual(clean);

      const report = await doctor(dataDir);
      for (const kind of leftovers) expect(report.stdout).toContain(`  ${kind}  `);
      for (const kind of [
        'staging folder',
        'uncommitted data file',
        'temporary manifest',
        'superseded data file',
      ])
        if (!(leftovers as readonly string[]).includes(kind))
          expect(report.stdout).not.toContain(`  ${kind}  `);

      // doctor --fix alone cleans up; the store reads the same rows either way.
      const fixedCopy = await makeTempDir('compact-fix');
      await cp(dataDir, fixedCopy, { recursive: true });
      const fixed = await doctor(fixedCopy, '--fix');
      expect(fixed.row).toMatch(/✔ │ .*removed \d+ leftovers? of interrupted ingests/);
      expect((await doctor(fixedCopy)).row).toMatch(/✔ │ .*no leftovers/);
      expect(await storedOrders(fixedCopy)).toEqual(clean);
      const kept = keep === '0' ? 0 : 2 * partitions;
      expect(await parquetFiles(fixedCopy)).toBe((committed ? partitions : 2 * partitions) + kept);

      // So does the next compaction, which then merges what is still unmerged.
      const rerun = await runFstore(['--data-dir', dataDir, 'compact', '--json'], noKeeping);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(JSON.parse(rerun.stdout).leftoversRemoved).toBeGreaterThan(0);
      expect((await doctor(dataDir)).row).toMatch(/✔ │ .*no leftovers/);
      expect(await parquetFiles(dataDir)).toBe(partitions + kept);
      expect(await storedOrders(dataDir)).toEqual(clean);
    },
    240_000,
  );

  it('stops before its commit point on SIGTERM (exit 143): the store is unchanged, nothing is left over, and the next compact works', async () => {
    const dataDir = await twoIngests();
    const manifest = await readFile(ingestManifestPath(dataDir, 'local'), 'utf8');
    const run = spawnFstore(['--data-dir', dataDir, 'compact'], {
      env: { FSTORE_PAUSE_AT: 'compact:before-commit' },
    });
    await run.waitFor(/fstore-pause: compact:before-commit/, 120_000);
    // Paused with every merged file published: the most a stop can have to undo.
    expect(await parquetFiles(dataDir)).toBe(3 * partitions);
    expect(await run.stop('SIGTERM')).toBe(143);
    expect(run.stderr()).toContain(
      'nothing was compacted: the compaction stopped before its commit point and its files were removed',
    );
    expect(run.stderr()).toContain('run fstore compact again');

    expect(await readFile(ingestManifestPath(dataDir, 'local'), 'utf8')).toBe(manifest);
    expect(await parquetFiles(dataDir)).toBe(2 * partitions);
    expect(await storedOrders(dataDir)).toEqual(clean);
    expect((await doctor(dataDir)).row).toMatch(/✔ │ .*no leftovers/);
    expect(existsSync(onlineLockPath(dataDir, 'local'))).toBe(false);
    expect(existsSync(ingestLockPath(dataDir, 'local'))).toBe(false);

    const again = await runFstore(['--data-dir', dataDir, 'compact'], noKeeping);
    expect(again.code, again.stderr).toBe(0);
    expect(await parquetFiles(dataDir)).toBe(partitions);
    expect(await storedOrders(dataDir)).toEqual(clean);
  }, 240_000);

  it('an AWS compact without its offline bucket names the flag and the stack output, and changes nothing', async () => {
    const result = await runFstore(['--env', 'prod', 'compact']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('compact on AWS environment "prod" needs its offline bucket');
    expect(result.stderr).toContain(
      'pass --bucket <name> (the OfflineBucketName output of stack fstore-prod) or set FSTORE_OFFLINE_BUCKET',
    );
  }, 60_000);
});

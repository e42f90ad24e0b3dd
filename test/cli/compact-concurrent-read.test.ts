import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CompactedWhileReadingError } from '../../lib/offline/compact-vanished-file.ts';
import { findIngestLeftovers } from '../../lib/offline/ingest-leftovers.ts';
import { readManifestState } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { getTrainingSet, type TrainingSetResult } from '../../lib/offline/training-set.ts';
import { compileRegistry, loadDefinitions, type Registry } from '../../lib/registry/index.ts';
import { makeTempDir, repoRoot, runFstore } from '../helpers/run-fstore.ts';

// A training set lists the committed files when it renders its SQL and opens them when the
// query runs. Here a real `fstore compact` process runs to its end exactly between the two
// (inside the 'joining' phase callback, which comes after the rendering), so the query reads
// the manifest snapshot from before the compaction's commit.

const cliEntry = path.join(repoRoot, 'bin', 'fstore.mjs');

/** Runs `fstore compact` to completion, blocking this process (so nothing else moves meanwhile). */
function compactNow(dataDir: string, env: Record<string, string> = {}) {
  const result = spawnSync(
    process.execPath,
    [cliEntry, '--data-dir', dataDir, 'compact', '--json'],
    {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...env },
      encoding: 'utf8',
    },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('a training set running while fstore compact commits', () => {
  let registry: Registry;
  let demo: string;
  let entities: string;

  beforeAll(async () => {
    registry = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
    const template = await makeTempDir('compact-read-demo');
    demo = path.join(template, 'demo');
    for (const seed of ['1', '2']) {
      const generated = await runFstore([
        ...['--data-dir', template, 'demo-data'],
        ...['--customers', '60', '--days', '12', '--end', '2026-06-01', '--seed', seed],
        ...['--format', 'csv', '--out', path.join(demo, seed)],
      ]);
      expect(generated.code, generated.stderr).toBe(0);
    }
    entities = path.join(template, 'entities.csv');
    const rows = Array.from(
      { length: 60 },
      (_, i) =>
        `C${String(i + 1).padStart(6, '0')},2026-05-${String(22 + (i % 10)).padStart(2, '0')}T12:00:00Z`,
    );
    await writeFile(entities, ['customer_id,event_timestamp', ...rows].join('\n'));
  }, 120_000);

  /** A store with two ingests of orders: two files in each day partition. */
  async function twoIngests(): Promise<string> {
    const dataDir = await makeTempDir('compact-read');
    for (const seed of ['1', '2']) {
      const ingested = await runFstore([
        ...['--data-dir', dataDir, 'ingest', '--source', 'orders'],
        ...['--file', path.join(demo, seed, 'orders.csv')],
      ]);
      expect(ingested.code, ingested.stderr).toBe(0);
    }
    return dataDir;
  }

  const trainingSet = (dataDir: string, onJoining?: () => void) =>
    getTrainingSet({
      registry,
      dataDir,
      env: 'local',
      request: { features: ['last_order:*', 'order_stats:*'] },
      entities,
      aggregations: 'range-join',
      onPhase: (phase) => {
        if (phase === 'joining') onJoining?.();
      },
    });

  /** The files the rendered SQL reads that no committed ingest names any more. */
  async function replacedFilesRead(dataDir: string, result: { sql: string }): Promise<string[]> {
    const state = await readManifestState(offlineRoot(dataDir, 'local'));
    const committed = new Set(state?.records.flatMap((r) => r.files ?? []));
    // Each view's scan names its files, so a file can appear more than once.
    const read = [
      ...new Set([...result.sql.matchAll(/'([^']+\.parquet)'/g)].map((m) => m[1] ?? '')),
    ];
    return read.filter(
      (file) => !committed.has(path.relative(offlineRoot(dataDir, 'local'), file)),
    );
  }

  it('succeeds with the same rows: the replaced files are kept (and named in the manifest) for a while after the commit', async () => {
    const dataDir = await twoIngests();
    const before = await trainingSet(dataDir);
    let compaction: ReturnType<typeof compactNow> | undefined;
    const during = await trainingSet(dataDir, () => {
      compaction = compactNow(dataDir);
    });
    expect(compaction?.code, compaction?.stderr).toBe(0);
    const report = JSON.parse(compaction?.stdout ?? '{}');
    expect(report.compactionId).toMatch(/^\d{8}t\d{6}-[0-9a-f]{8}$/);
    expect(Date.parse(report.replacedKeptUntil)).toBeGreaterThan(Date.now() + 30 * 60_000);
    // The query really read the pre-commit snapshot: files the compaction replaced.
    const replacedRead = await replacedFilesRead(dataDir, during);
    expect(replacedRead.length).toBeGreaterThan(0);
    expect(replacedRead.every(existsSync)).toBe(true);
    expect(during.records).toEqual(before.records);

    const root = offlineRoot(dataDir, 'local');
    const state = await readManifestState(root);
    expect(state?.replaced).toEqual([
      expect.objectContaining({ kind: 'replaced-files', replacedBy: report.compactionId }),
    ]);
    // Kept files are not leftovers until their time is up; then they are, and cleanup forgets them.
    expect((await findIngestLeftovers(root)).leftovers).toEqual([]);
    const later = Date.parse(report.replacedKeptUntil) + 1;
    const expired = (await findIngestLeftovers(root, later)).leftovers;
    const keptFiles = state?.replaced.flatMap((e) => e.files) ?? [];
    expect(keptFiles.length).toBeGreaterThanOrEqual(replacedRead.length);
    expect(expired.map((l) => l.kind)).toEqual(keptFiles.map(() => 'superseded data file'));
    expect(expired.map((l) => path.relative(root, l.path)).sort()).toEqual([...keptFiles].sort());
    expect((await trainingSet(dataDir)).records).toEqual(before.records);
  }, 240_000);

  it('fails with a message that a compaction ran and to rerun, once the replaced files are deleted (--keep-replaced 0)', async () => {
    const dataDir = await twoIngests();
    const before = await trainingSet(dataDir);
    let caught: unknown;
    let compaction: ReturnType<typeof compactNow> | undefined;
    await trainingSet(dataDir, () => {
      compaction = compactNow(dataDir, { FSTORE_COMPACT_KEEP_REPLACED: '0' });
    }).then(
      (result: TrainingSetResult) => expect.fail(`expected a failure, got ${result.rows} rows`),
      (error: unknown) => {
        caught = error;
      },
    );
    expect(compaction?.code, compaction?.stderr).toBe(0);
    const root = offlineRoot(dataDir, 'local');
    expect((await readManifestState(root))?.replaced).toEqual([]);
    // The training set itself tells the race, not "no data".
    const explained = caught as CompactedWhileReadingError;
    expect(explained).toBeInstanceOf(CompactedWhileReadingError);
    expect(explained?.message).toMatch(
      /^data file orders\/dt=\d{4}-\d{2}-\d{2}\/\d{8}t\d{6}-[0-9a-f]{8}-\d+\.parquet of source "orders" was replaced by a compaction \(fstore compact\) after this read listed the files to read/,
    );
    expect(explained?.hint).toContain('run it again');
    expect(explained?.hint).toContain('--keep-replaced');
    // And so it does: a rerun reads the merged files.
    expect((await trainingSet(dataDir)).records).toEqual(before.records);
  }, 240_000);
});

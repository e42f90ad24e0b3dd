/**
 * bench:pit, reading as of a snapshot (issue 19): `fstore training-set --snapshot` against the
 * same request on the latest data, 1 view, 1M entity rows, process start → file, interleaved.
 * The snapshot is made of the store as ingested; then one more ingest (a slice of the input
 * with its times moved a day later) gives the pin something to hold back, so the pinned read
 * filters `fstore_seq <= n` for real. Its result must equal the latest read's made before that
 * ingest, row for row. All of it on a copy of the store, removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from '../lib/sql/dialect.ts';
import { describeInterleave, interleave, interleaveJson } from './interleave.ts';
import { cpu, differences, peak, round, timeCli, trainingSetArgs } from './pit-e2e.ts';
import { cliEntry, type PitCase, type PitStore } from './pit-store.ts';

const snapshotName = 'bench_pit';
/** Rows of the extra ingest the pin holds back. */
const laterRows = 100_000;

export async function snapshotRead(
  connection: DuckDBConnection,
  shared: PitStore,
  workDir: string,
  runs: number,
  log: (line: string) => void,
) {
  // A copy: the later ingest must not change the store a kept bench dir reuses (BENCH_KEEP_DATA).
  const store = { ...shared, dataDir: path.join(workDir, 'snapshot-store') };
  rmSync(store.dataDir, { recursive: true, force: true });
  // With its files' times to the nanosecond (cp -a; Node's cpSync keeps milliseconds): the store's
  // caches (sorted copies, running totals) name the files they hold by size and time, and a copy
  // that changes them rebuilds the caches at the later ingest.
  execFileSync('cp', ['-a', shared.dataDir, store.dataDir]);
  const pitCase: PitCase = { views: 1, sources: ['one_0'] };
  const label = '[as of a snapshot, 1 view]';
  const out = (name: string) => path.join(workDir, `snapshot-${name}.parquet`);
  const fstore = (...args: string[]) =>
    execFileSync(
      process.execPath,
      [cliEntry, '--defs', store.defs, '--data-dir', store.dataDir, ...args],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    );
  await timeCli(trainingSetArgs(store, pitCase, store.entities, out('before')), workDir);
  fstore('snapshot', 'create', '--name', snapshotName);
  const later = path.join(workDir, 'snapshot-later.parquet');
  await connection.run(
    `COPY (SELECT * REPLACE (event_ts + INTERVAL 1 DAY AS event_ts) FROM read_parquet(${quoteLiteral(store.inputs.one_0 ?? '')}) LIMIT ${laterRows}) TO ${quoteLiteral(later)} (FORMAT parquet)`,
  );
  fstore('ingest', '--source', 'one_0', '--file', later);
  const timed = await interleave({
    runs,
    ours: () =>
      timeCli(
        [
          ...trainingSetArgs(store, pitCase, store.entities, out('pinned')),
          '--snapshot',
          snapshotName,
        ],
        workDir,
      ),
    baseline: () =>
      timeCli(trainingSetArgs(store, pitCase, store.entities, out('latest')), workDir),
    value: (r) => r.seconds,
    onPair: (p) =>
      log(
        `${label} pair ${p.pair}/${runs}: as of the snapshot ${p.oursValue.toFixed(2)} s, latest ${p.baselineValue.toFixed(2)} s (ratio ${p.ratio.toFixed(2)})`,
      ),
  });
  const mismatches = await differences(connection, out('pinned'), out('before'));
  const changedByLater = await differences(connection, out('latest'), out('before'));
  for (const name of ['before', 'pinned', 'latest']) rmSync(out(name), { force: true });
  rmSync(later, { force: true });
  rmSync(store.dataDir, { recursive: true, force: true });
  const pinned = timed.pairs.map((p) => p.ours);
  const latest = timed.pairs.map((p) => p.baseline);
  const ratio = timed.ratioOfMedians;
  return {
    mismatches,
    lines: [
      `${label} fstore training-set --snapshot vs the latest data (${laterRows.toLocaleString('en-US')} rows ingested after the snapshot), process start → file, seconds:`,
      ...describeInterleave(timed, 's'),
      `${label} as of the snapshot ${timed.oursMedian.toFixed(2)} s (CPU ${cpu(pinned).toFixed(2)} s, peak RSS ${peak(pinned)} MB) | latest ${timed.baselineMedian.toFixed(2)} s (CPU ${cpu(latest).toFixed(2)} s, peak RSS ${peak(latest)} MB)`,
      `${label} ratio ${ratio.toFixed(3)} (median pair ${timed.medianPairRatio.toFixed(3)}; target ≤ 1.05: ${ratio <= 1.05 ? 'met' : 'not met'}); rows differing from the read before the later ingest: ${mismatches} as of the snapshot, ${changedByLater} on the latest data`,
    ],
    json: {
      bench: 'pit-snapshot-read',
      ...interleaveJson(timed),
      ours_cpu_s: round(cpu(pinned)),
      baseline_cpu_s: round(cpu(latest)),
      peak_rss_mb: peak(pinned),
      baseline_peak_rss_mb: peak(latest),
      later_rows: laterRows,
      mismatches,
      changed_by_later_ingest: changedByLater,
    },
  };
}

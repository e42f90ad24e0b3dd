/**
 * The CLI's start-up, from its bundle (ours) against the TypeScript sources through tsx (the
 * baseline, FSTORE_CLI_SOURCES=1: how every run started before the bundle), interleaved fresh
 * processes timed with GNU time: `--version`, `list` (loads the feature-defs), and with
 * `--store <bench:pit store dir>` a 10-entity-row `training-set` on that store (bench/pit-store.ts
 * builds it; BENCH_KEEP_DATA=1 npm run bench:pit keeps it). Medians of wall and CPU seconds, peak
 * RSS, and the load average. `tsx bench/cli-start.ts [--runs N] [--store DIR]`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { buildCliBundle, freshCliBundle, repoRoot } from '../bin/cli-bundle.mjs';
import { describeInterleave, interleave, median, runsOption } from './interleave.ts';

interface Run {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
}

const cli = path.join(repoRoot, 'bin', 'fstore.mjs');
const work = mkdtempSync(path.join(tmpdir(), 'fstore-cli-start-'));

/** Other work may change a source mid-bench: a bundle run that fell back is run again on a new bundle. */
async function timeCli(args: readonly string[], fromSources: boolean): Promise<Run> {
  for (let attempt = 1; attempt < 3; attempt++) {
    try {
      return timeCliOnce(args, fromSources);
    } catch (error) {
      if (!(error instanceof StaleBundle)) throw error;
      await buildCliBundle();
    }
  }
  return timeCliOnce(args, fromSources);
}

class StaleBundle extends Error {}

function timeCliOnce(args: readonly string[], fromSources: boolean): Run {
  const report = path.join(work, 'time.txt');
  const result = spawnSync(
    '/usr/bin/time',
    ['-o', report, '-f', '%e %U %S %M', process.execPath, cli, ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, FSTORE_CLI_SOURCES: fromSources ? '1' : '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    },
  );
  if (result.status !== 0)
    throw new Error(`fstore ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  if (!fromSources && result.stderr.includes('running from the TypeScript sources'))
    throw new StaleBundle(`the bundle run fell back to the sources: ${result.stderr.trim()}`);
  const [wall, user, system, rssKb] = readFileSync(report, 'utf8')
    .trim()
    .split('\n')
    .at(-1)
    ?.split(' ')
    .map(Number) ?? [Number.NaN, 0, 0, 0];
  return {
    seconds: wall ?? Number.NaN,
    cpuSeconds: (user ?? 0) + (system ?? 0),
    peakRssMb: Math.round((rssKb ?? 0) / 1024),
  };
}

const argv = process.argv.slice(2);
const runs = runsOption(5, argv);
const storeAt = argv.indexOf('--store');
const store = storeAt >= 0 ? argv[storeAt + 1] : undefined;

const cases: { name: string; args: string[] }[] = [
  { name: '--version', args: ['--version'] },
  { name: 'list', args: ['list'] },
];
if (store)
  cases.push({
    name: 'training-set, 10 entity rows',
    args: [
      '--defs',
      path.join(store, 'defs'),
      '--data-dir',
      path.join(store, 'store'),
      'training-set',
      '--features',
      'one_0_view:*',
      '--entities',
      path.join(store, 'input', 'entities-10.csv'),
      '--out',
      path.join(work, 'small.parquet'),
    ],
  });

if (!freshCliBundle().dir) await buildCliBundle();
const loadBefore = loadavg()[0] ?? 0;
for (const { name, args } of cases) {
  const result = await interleave<Run>({
    runs,
    ours: () => timeCli(args, false),
    baseline: () => timeCli(args, true),
    value: (run) => run.seconds,
  });
  const ours = result.pairs.map((p) => p.ours);
  const base = result.pairs.map((p) => p.baseline);
  const cpu = (list: Run[]) => median(list.map((r) => r.cpuSeconds)).toFixed(2);
  const rss = (list: Run[]) => median(list.map((r) => r.peakRssMb));
  console.log(`[${name}] bundle (ours) vs TypeScript sources through tsx (baseline), wall s:`);
  for (const line of describeInterleave(result, 's')) console.log(line);
  console.log(
    `[${name}] CPU medians: bundle ${cpu(ours)} s, sources ${cpu(base)} s; peak RSS medians: ${rss(ours)} MB, ${rss(base)} MB`,
  );
}
console.log(
  `load average (1 min): ${loadBefore.toFixed(1)} before, ${loadavg()[0]?.toFixed(1)} after`,
);
rmSync(work, { recursive: true, force: true });

/**
 * Interleaved runs for the benchmarks: ours, baseline, ours, baseline, ... (`runs` pairs), so
 * load from other work on a shared machine hits both sides alike, and the figures kept are
 * medians. Reports every sample, both medians, the ratio of the medians and the median of the
 * per-pair ratios (each pair ran back to back, so its ratio saw the same load).
 *
 * The number of pairs is `--runs N` on the command line (`npm run bench:agg -- --runs 3`), or
 * the env variable BENCH_RUNS, or the bench's default.
 */

export interface InterleaveOptions<T> {
  /** Pairs to run. */
  readonly runs: number;
  readonly ours: (pair: number) => T | Promise<T>;
  readonly baseline: (pair: number) => T | Promise<T>;
  /** The figure compared (seconds, ms, rows/s ...) of one run. */
  readonly value: (run: T) => number;
  /** Called after each pair, e.g. to print it while the bench goes on. */
  readonly onPair?: (pair: PairResult<T>) => void;
}

export interface PairResult<T> {
  readonly pair: number;
  readonly ours: T;
  readonly baseline: T;
  readonly oursValue: number;
  readonly baselineValue: number;
  /** ours / baseline of this pair. */
  readonly ratio: number;
}

export interface InterleaveResult<T> {
  readonly runs: number;
  readonly pairs: readonly PairResult<T>[];
  readonly oursValues: readonly number[];
  readonly baselineValues: readonly number[];
  readonly oursMedian: number;
  readonly baselineMedian: number;
  /** median(ours) / median(baseline). */
  readonly ratioOfMedians: number;
  /** median over pairs of ours / baseline. */
  readonly medianPairRatio: number;
  /** The run whose value is the median (the lower middle one for an even count). */
  readonly oursMedianRun: T;
  readonly baselineMedianRun: T;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The `p`th percentile (nearest rank below) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Pairs to run: `--runs N` / `--runs=N` in argv, else BENCH_RUNS, else `fallback`. */
export function runsOption(fallback = 5, argv = process.argv.slice(2)): number {
  let text: string | undefined = process.env.BENCH_RUNS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--runs') text = argv[i + 1];
    else if (arg.startsWith('--runs=')) text = arg.slice('--runs='.length);
  }
  if (text === undefined || text === '') return fallback;
  const runs = Number(text);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a whole number ≥ 1, got ${JSON.stringify(text)}`);
  return runs;
}

export async function interleave<T>(options: InterleaveOptions<T>): Promise<InterleaveResult<T>> {
  const pairs: PairResult<T>[] = [];
  for (let pair = 1; pair <= options.runs; pair++) {
    const ours = await options.ours(pair);
    const baseline = await options.baseline(pair);
    const oursValue = options.value(ours);
    const baselineValue = options.value(baseline);
    const result = {
      pair,
      ours,
      baseline,
      oursValue,
      baselineValue,
      ratio: oursValue / baselineValue,
    };
    pairs.push(result);
    options.onPair?.(result);
  }
  const oursValues = pairs.map((p) => p.oursValue);
  const baselineValues = pairs.map((p) => p.baselineValue);
  const oursMedian = median(oursValues);
  const baselineMedian = median(baselineValues);
  const medianRun = (side: 'ours' | 'baseline') => {
    const sorted = [...pairs].sort((a, b) => a[`${side}Value`] - b[`${side}Value`]);
    return (sorted[Math.floor((sorted.length - 1) / 2)] as PairResult<T>)[side];
  };
  return {
    runs: options.runs,
    pairs,
    oursValues,
    baselineValues,
    oursMedian,
    baselineMedian,
    ratioOfMedians: oursMedian / baselineMedian,
    medianPairRatio: median(pairs.map((p) => p.ratio)),
    oursMedianRun: medianRun('ours'),
    baselineMedianRun: medianRun('baseline'),
  };
}

const fixed = (value: number, digits: number) => Number(value.toFixed(digits));

/** Lines for the console: every pair, then medians and ratios. */
export function describeInterleave(
  result: InterleaveResult<unknown>,
  unit: string,
  digits = 2,
): string[] {
  const f = (v: number) => v.toFixed(digits);
  return [
    ...result.pairs.map(
      (p) =>
        `  pair ${p.pair}/${result.runs}: ours ${f(p.oursValue)} ${unit}, baseline ${f(p.baselineValue)} ${unit}, ratio ${p.ratio.toFixed(2)}`,
    ),
    `  medians of ${result.runs} interleaved pairs: ours ${f(result.oursMedian)} ${unit}, baseline ${f(result.baselineMedian)} ${unit}; ratio of medians ${result.ratioOfMedians.toFixed(2)}, median of pair ratios ${result.medianPairRatio.toFixed(2)}`,
  ];
}

/** The figures for the bench's JSON line. */
export function interleaveJson(result: InterleaveResult<unknown>, digits = 3) {
  return {
    runs: result.runs,
    ours_samples: result.oursValues.map((v) => fixed(v, digits)),
    baseline_samples: result.baselineValues.map((v) => fixed(v, digits)),
    ours_median: fixed(result.oursMedian, digits),
    baseline_median: fixed(result.baselineMedian, digits),
    ratio_of_medians: fixed(result.ratioOfMedians, 3),
    median_pair_ratio: fixed(result.medianPairRatio, 3),
  };
}

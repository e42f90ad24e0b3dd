import { describe, expect, it } from 'vitest';
import {
  interleave,
  interleaveJson,
  median,
  percentile,
  runsOption,
} from '../../../bench/interleave.ts';

// Issue 14 §2: every benchmark runs ours and the baseline alternately and reports medians, so
// that load from other work hits both sides alike.

describe('interleaved benchmark runs', () => {
  it('alternates ours and the baseline, pair by pair, never a block of one side', async () => {
    const calls: string[] = [];
    await interleave({
      runs: 3,
      ours: (pair) => calls.push(`ours ${pair}`),
      baseline: (pair) => calls.push(`baseline ${pair}`),
      value: () => 1,
    });
    expect(calls).toEqual(['ours 1', 'baseline 1', 'ours 2', 'baseline 2', 'ours 3', 'baseline 3']);
  });

  it('reports each side’s median, the ratio of the medians and the median of the pair ratios', async () => {
    // Pair 2 is the slow one for ours, pair 3 for the baseline: the medians leave both out.
    const ours = [2, 9, 3];
    const baseline = [4, 5, 30];
    const seen: number[] = [];
    const result = await interleave({
      runs: 3,
      ours: (pair) => ({ side: 'ours', seconds: ours[pair - 1] as number }),
      baseline: (pair) => ({ side: 'baseline', seconds: baseline[pair - 1] as number }),
      value: (run) => run.seconds,
      onPair: (p) => seen.push(p.pair),
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(result.oursValues).toEqual([2, 9, 3]);
    expect(result.baselineValues).toEqual([4, 5, 30]);
    expect(result.pairs.map((p) => p.ratio)).toEqual([0.5, 9 / 5, 0.1]);
    expect(result.oursMedian).toBe(3);
    expect(result.baselineMedian).toBe(5);
    expect(result.ratioOfMedians).toBe(3 / 5);
    expect(result.medianPairRatio).toBe(0.5);
    expect(result.oursMedianRun).toEqual({ side: 'ours', seconds: 3 });
    expect(result.baselineMedianRun).toEqual({ side: 'baseline', seconds: 5 });
    expect(interleaveJson(result)).toEqual({
      runs: 3,
      ours_samples: [2, 9, 3],
      baseline_samples: [4, 5, 30],
      ours_median: 3,
      baseline_median: 5,
      ratio_of_medians: 0.6,
      median_pair_ratio: 0.5,
    });
  });

  it('takes the mean of the two middle values as the median of an even count, the lower one as its run', async () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
    const result = await interleave({
      runs: 2,
      ours: (pair) => [10, 20][pair - 1] as number,
      baseline: () => 10,
      value: (run) => run,
    });
    expect(result.oursMedian).toBe(15);
    expect(result.oursMedianRun).toBe(10);
  });

  it('gives the nearest-rank percentile of unsorted samples', () => {
    const samples = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
    expect(percentile(samples, 50)).toBe(60);
    expect(percentile(samples, 99)).toBe(100);
    expect(percentile(samples, 0)).toBe(10);
    expect(percentile([], 50)).toBe(0);
  });
});

describe('the number of pairs: --runs, BENCH_RUNS or the bench default', () => {
  it('reads --runs N and --runs=N, and the last one given wins', () => {
    expect(runsOption(5, ['--runs', '3'])).toBe(3);
    expect(runsOption(5, ['--only', 'e2e', '--runs=7'])).toBe(7);
    expect(runsOption(5, ['--runs', '2', '--runs=4'])).toBe(4);
  });

  it('falls back to BENCH_RUNS, then to the default', () => {
    const saved = process.env.BENCH_RUNS;
    try {
      process.env.BENCH_RUNS = '6';
      expect(runsOption(5, [])).toBe(6);
      expect(runsOption(5, ['--runs', '2'])).toBe(2);
      delete process.env.BENCH_RUNS;
      expect(runsOption(5, [])).toBe(5);
      process.env.BENCH_RUNS = '';
      expect(runsOption(4, [])).toBe(4);
    } finally {
      if (saved === undefined) delete process.env.BENCH_RUNS;
      else process.env.BENCH_RUNS = saved;
    }
  });

  it.each(['0', '-1', '2.5', 'x', '1e9x'])('refuses --runs %s, naming the value', (text) => {
    expect(() => runsOption(5, ['--runs', text])).toThrow(
      `--runs must be a whole number ≥ 1, got ${JSON.stringify(text)}`,
    );
  });
});

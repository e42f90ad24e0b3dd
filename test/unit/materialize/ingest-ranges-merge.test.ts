import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CommittedIngest, newIngestRows } from '../../../lib/materialize/ingest-coverage.ts';

const ingest = (firstSeq: number, rows: number): CommittedIngest => ({
  ingestId: `i${firstSeq}-${rows}`,
  firstSeq,
  rows,
  committedAtMs: 0,
});

/** The integers the ranges cover, one by one. */
function coveredIntegers(ranges: readonly (readonly [string, string])[]): Set<number> {
  const covered = new Set<number>();
  for (const [first, last] of ranges)
    for (let n = Number(first); n <= Number(last); n++) covered.add(n);
  return covered;
}

/** Maximal runs of consecutive integers of `covered`, in order. */
function runsOf(covered: ReadonlySet<number>): [number, number][] {
  const runs: [number, number][] = [];
  for (const n of [...covered].sort((a, b) => a - b)) {
    const last = runs.at(-1);
    if (last && n === last[1] + 1) last[1] = n;
    else runs.push([n, n]);
  }
  return runs;
}

/** The merge before it was a sort and one pass: closest neighbours joined one pair at a time. */
function pairAtATime(ingests: readonly CommittedIngest[], maxRanges: number): [string, string][] {
  const merged: [bigint, bigint][] = [];
  for (const [first, last] of ingests
    .filter((i) => i.rows > 0)
    .map((i) => [BigInt(i.firstSeq), BigInt(i.firstSeq) + BigInt(i.rows) - 1n] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const previous = merged.at(-1);
    if (previous && first <= previous[1] + 1n)
      previous[1] = last > previous[1] ? last : previous[1];
    else merged.push([first, last]);
  }
  const gap = (i: number) =>
    (merged[i + 1] as [bigint, bigint])[0] - (merged[i] as [bigint, bigint])[1];
  while (merged.length > Math.max(1, maxRanges)) {
    let closest = 0;
    for (let i = 1; i < merged.length - 1; i++) if (gap(i) < gap(closest)) closest = i;
    const left = merged[closest] as [bigint, bigint];
    const right = merged[closest + 1] as [bigint, bigint];
    merged.splice(closest, 2, [left[0], right[1]]);
  }
  return merged.map(([first, last]) => [first.toString(), last.toString()]);
}

const ingests = fc.array(
  fc
    .tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 12 }))
    .map(([f, r]) => ingest(f, r)),
  { maxLength: 60 },
);

describe('the fstore_seq ranges of new ingests, against every covered integer', () => {
  it('cover exactly the ingests’ rows, sorted, apart and not touching, when the cap allows', () => {
    fc.assert(
      fc.property(ingests, (batch) => {
        const expected = coveredIntegers(
          batch
            .filter((i) => i.rows > 0)
            .map((i) => [String(i.firstSeq), String(i.firstSeq + i.rows - 1)]),
        );
        const { seqRanges } = newIngestRows(batch, 1_000);
        expect(coveredIntegers(seqRanges)).toEqual(expected);
        expect(seqRanges).toEqual(runsOf(expected).map(([a, b]) => [String(a), String(b)]));
      }),
      { numRuns: 2_000, seed: 16 },
    );
  });

  it('under a cap, join the closest neighbours: the fewest extra integers for that many ranges', () => {
    fc.assert(
      fc.property(ingests, fc.integer({ min: -1, max: 12 }), (batch, maxRanges) => {
        const rows = batch.filter((i) => i.rows > 0);
        const wanted = coveredIntegers(
          rows.map((i) => [String(i.firstSeq), String(i.firstSeq + i.rows - 1)]),
        );
        const runs = runsOf(wanted);
        const cap = Math.max(1, maxRanges);
        const { seqRanges } = newIngestRows(batch, maxRanges);
        const covered = coveredIntegers(seqRanges);
        expect(seqRanges).toHaveLength(Math.min(runs.length, cap));
        for (const n of wanted) expect(covered.has(n)).toBe(true);
        // Each range starts and ends on a row of a new ingest.
        for (const [first, last] of seqRanges) {
          expect(wanted.has(Number(first))).toBe(true);
          expect(wanted.has(Number(last))).toBe(true);
        }
        // The extra integers are the smallest holes between runs, as many as must go.
        const holes = runs
          .slice(1)
          .map(([first], i) => first - (runs[i] as [number, number])[1] - 1)
          .sort((a, b) => a - b);
        const mustGo = Math.max(0, runs.length - cap);
        const fewestExtra = holes.slice(0, mustGo).reduce((sum, hole) => sum + hole, 0);
        expect(covered.size - wanted.size).toBe(fewestExtra);
        // And among equal holes, the same ones as joining one pair at a time chose.
        expect(seqRanges).toEqual(pairAtATime(batch, maxRanges));
      }),
      { numRuns: 2_000, seed: 17 },
    );
  });

  it('caps 20,000 ranges in one sort and pass', () => {
    // Every fourth ingest leaves a wider hole, so the cap keeps those apart.
    const many = Array.from({ length: 20_000 }, (_, i) =>
      ingest(i * 3 + Math.floor(i / 4) * 5, 1 + (i % 2)),
    );
    const { seqRanges, ingests: counted, rows } = newIngestRows(many, 50);
    expect(counted).toBe(20_000);
    expect(rows).toBe(30_000);
    expect(seqRanges).toHaveLength(50);
    const covered = coveredIntegers(seqRanges);
    for (const i of many)
      for (let n = i.firstSeq; n < i.firstSeq + i.rows; n++) expect(covered.has(n)).toBe(true);
  });
});

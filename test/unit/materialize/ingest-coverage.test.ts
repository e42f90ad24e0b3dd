import { describe, expect, it } from 'vitest';
import {
  type CommittedIngest,
  coverageAfter,
  maxNamedDays,
  maxNamedIngests,
  newIngestRows,
  partitionsOfFiles,
  uncoveredIngests,
} from '../../../lib/materialize/ingest-coverage.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { newRowsCondition } from '../../../lib/sql/render-new-ingests.ts';

const minute = 60_000;
const ingest = (id: string, firstSeq: number, rows: number, atMinute: number): CommittedIngest => ({
  ingestId: id,
  firstSeq,
  rows,
  committedAtMs: atMinute * minute,
  days: ['2026-03-01'],
});

describe('ingest coverage', () => {
  it('settles ingests ten minutes older than the newest commit and names the later ones', () => {
    const snapshot = [ingest('a', 1, 10, 0), ingest('b', 11, 5, 55), ingest('c', 16, 5, 60)];
    expect(coverageAfter(undefined, snapshot)).toEqual({
      settledBeforeMs: 50 * minute,
      ingestIds: ['b', 'c'],
    });
  });

  it('sees an ingest that committed while the last run read the log, with a time before the newest it saw', () => {
    const coverage = coverageAfter(undefined, [ingest('a', 1, 10, 0), ingest('c', 30, 5, 60)]);
    // `b` took its commit time at minute 59 but became visible only after the read.
    const next = [ingest('a', 1, 10, 0), ingest('b', 11, 19, 59), ingest('c', 30, 5, 60)];
    expect(uncoveredIngests(coverage, next).map((i) => i.ingestId)).toEqual(['b']);
  });

  it('never moves the settle point back, and keeps it when nothing was ever ingested', () => {
    const first = coverageAfter(undefined, [ingest('a', 1, 10, 100)]);
    expect(coverageAfter(first, [ingest('a', 1, 10, 100)])).toMatchObject({
      settledBeforeMs: 90 * minute,
    });
    expect(coverageAfter(undefined, [])).toEqual({ settledBeforeMs: 0, ingestIds: [] });
  });

  it('covers, once written, every ingest of the snapshot and no other', () => {
    const snapshot = [ingest('a', 1, 10, 0), ingest('b', 11, 5, 58)];
    const coverage = coverageAfter(undefined, snapshot);
    expect(uncoveredIngests(coverage, snapshot)).toEqual([]);
    expect(uncoveredIngests(coverage, [...snapshot, ingest('d', 16, 1, 58)])).toHaveLength(1);
  });
});

describe('the bound on named ingests', () => {
  it('names at most maxNamedIngests, the latest commits; the others stay uncovered (read again), never skipped', () => {
    const many = Array.from({ length: maxNamedIngests + 5 }, (_, i) =>
      ingest(`i${String(i).padStart(5, '0')}`, 1 + i * 10, 10, 100 + i / 10_000),
    );
    const coverage = coverageAfter(undefined, many);
    expect('ingestIds' in coverage && coverage.ingestIds).toHaveLength(maxNamedIngests);
    expect(uncoveredIngests(coverage, many).map((i) => i.ingestId)).toEqual(
      many.slice(0, 5).map((i) => i.ingestId),
    );
  });

  it('leaves partitions out of the filter past maxNamedDays, so the rows are found by sequence alone', () => {
    const wide = {
      ...ingest('a', 1, 10, 0),
      days: Array.from({ length: maxNamedDays + 1 }, (_, d) => `d${d}`),
    };
    expect(newIngestRows([wide]).days).toBeUndefined();
    expect(newIngestRows([{ ...wide, days: wide.days.slice(0, maxNamedDays) }]).days).toHaveLength(
      maxNamedDays,
    );
  });
});

describe('ingest coverage by sequence number (a store that numbers ingests in commit order)', () => {
  it('covers every ingest up to the greatest sequence seen, whatever their commit times say', () => {
    const coverage = coverageAfter(undefined, [ingest('a', 1, 10, 60)], undefined, true);
    expect(coverage).toEqual({ seqThrough: '10' });
    // `b` committed after the run, stamped two hours earlier by a clock stepped back.
    const next = [ingest('a', 1, 10, 60), ingest('b', 11, 5, -60)];
    expect(uncoveredIngests(coverage, next).map((i) => i.ingestId)).toEqual(['b']);
    expect(coverageAfter(coverage, next, undefined, true)).toEqual({ seqThrough: '15' });
  });

  it('never moves back, counts empty ingests as covered, and holds S3-scale numbers exactly', () => {
    const big = 1_700_000_000_000 * 1_048_576;
    const coverage = coverageAfter(undefined, [ingest('a', big, 3, 0)], undefined, true);
    expect(coverage).toEqual({ seqThrough: (BigInt(big) + 2n).toString() });
    expect(coverageAfter(coverage, [ingest('e', 5, 0, 1)], undefined, true)).toEqual(coverage);
    expect(uncoveredIngests(coverage, [ingest('e', big + 3, 0, 1)])).toEqual([]);
  });

  it('takes over from a coverage by commit time: the snapshot it read is covered afterwards', () => {
    const byTime = coverageAfter(undefined, [ingest('a', 1, 10, 0)]);
    const snapshot = [ingest('a', 1, 10, 0), ingest('b', 11, 5, 30)];
    expect(uncoveredIngests(byTime, snapshot).map((i) => i.ingestId)).toEqual(['b']);
    const bySeq = coverageAfter(byTime, snapshot, undefined, true);
    expect(uncoveredIngests(bySeq, snapshot)).toEqual([]);
  });
});

describe('new ingest rows', () => {
  it('gives each ingest its inclusive fstore_seq range, joins adjacent ones and skips empty ones', () => {
    const rows = newIngestRows([
      ingest('b', 11, 5, 1),
      ingest('a', 1, 10, 0),
      ingest('e', 40, 0, 2),
    ]);
    expect(rows).toEqual({ ingests: 3, rows: 15, seqRanges: [['1', '15']], days: ['2026-03-01'] });
  });

  it('merges the closest ranges past the limit, reading more rows, never fewer', () => {
    const ingests = [
      ingest('a', 1, 1, 0),
      ingest('b', 100, 1, 0),
      ingest('c', 103, 1, 0),
      ingest('d', 500, 1, 0),
    ];
    expect(newIngestRows(ingests, 3).seqRanges).toEqual([
      ['1', '1'],
      ['100', '103'],
      ['500', '500'],
    ]);
    expect(newIngestRows(ingests, 1).seqRanges).toEqual([['1', '500']]);
  });

  it('computes the ranges of S3 sequence numbers (milliseconds × 2^20, past 2^53) exactly', () => {
    const first = 1_772_326_800_000 * 1_048_576;
    expect(newIngestRows([ingest('s3', first, 1_001, 0)]).seqRanges).toEqual([
      [BigInt(first).toString(), (BigInt(first) + 1000n).toString()],
    ]);
    expect(String(BigInt(first) + 1000n)).toBe('1858419346636801000');
  });

  it('leaves the partitions out when an ingest does not name its files', () => {
    const { days: _days, ...legacy } = ingest('a', 1, 1, 0);
    expect(newIngestRows([legacy, ingest('b', 2, 1, 0)]).days).toBeUndefined();
    expect(
      partitionsOfFiles([
        'events/dt=2026-03-02/x-0.parquet',
        'offline/events/dt=2026-02-01/x-1.parquet',
      ]),
    ).toEqual(['2026-02-01', '2026-03-02']);
    expect(partitionsOfFiles(['events/x-0.parquet'])).toBeUndefined();
    expect(partitionsOfFiles(undefined)).toBeUndefined();
  });
});

describe('the SQL filter of new ingest rows', () => {
  const dialect = duckdbDialect('/nowhere');
  it('selects the ranges inside their partitions', () => {
    expect(
      newRowsCondition(dialect, {
        seqRanges: [
          ['1', '15'],
          ['20', '20'],
        ],
        days: ['2026-03-01'],
      }),
    ).toBe(`("dt" IN ('2026-03-01') AND (fstore_seq BETWEEN 1 AND 15 OR fstore_seq = 20))`);
  });
  it('selects nothing when there is nothing new', () => {
    expect(newRowsCondition(dialect, { seqRanges: [] })).toBe('FALSE');
  });
  it('refuses a range that is not one, naming it', () => {
    expect(() => newRowsCondition(dialect, { seqRanges: [['5', '4']] })).toThrow(
      'not an fstore_seq range: 5..4',
    );
  });
});

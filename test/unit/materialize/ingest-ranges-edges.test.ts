import { describe, expect, it } from 'vitest';
import {
  coverageAfter,
  newIngestRows,
  partitionOfFile,
} from '../../../lib/materialize/ingest-coverage.ts';

const ingest = (firstSeq: number, rows: number, days?: string[]) => ({
  ingestId: `i${firstSeq}`,
  firstSeq,
  rows,
  committedAtMs: 0,
  ...(days ? { days } : {}),
});

describe('coverage by sequence number after a run', () => {
  it('moves to the last row of the highest ingest seen, ignoring ingests without rows', () => {
    expect(
      coverageAfter(undefined, [ingest(10, 2), ingest(1, 3), ingest(100, 0)], 0, true),
    ).toEqual({ seqThrough: '11' });
  });

  it('never moves back', () => {
    expect(coverageAfter({ seqThrough: '20' }, [ingest(1, 3)], 0, true)).toEqual({
      seqThrough: '20',
    });
  });
});

describe('the fstore_seq ranges of new ingests', () => {
  it('sorts ranges, joins adjacent ones and swallows one inside another', () => {
    const rows = newIngestRows([
      ingest(10, 2),
      ingest(1, 3),
      ingest(4, 1),
      ingest(20, 10),
      ingest(22, 2),
    ]);
    expect(rows.seqRanges).toEqual([
      ['1', '4'],
      ['10', '11'],
      ['20', '29'],
    ]);
  });

  it('names the partitions once each, sorted', () => {
    const rows = newIngestRows([
      ingest(5, 1, ['2026-03-02']),
      ingest(1, 1, ['2026-03-01', '2026-03-02']),
    ]);
    expect(rows.days).toEqual(['2026-03-01', '2026-03-02']);
  });
});

describe('the partition of a data file', () => {
  it('is read from a path that starts with it or holds it as a folder, not from a longer name', () => {
    expect(partitionOfFile('dt=2026-03-01/part-0.parquet')).toBe('2026-03-01');
    expect(partitionOfFile('orders\\dt=2026-03-01\\part-0.parquet')).toBe('2026-03-01');
    expect(partitionOfFile('orders/xdt=2026-03-01/part-0.parquet')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import {
  coverageAfter,
  newIngestRows,
  partitionsOfFiles,
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

describe('the partitions of an ingest’s files', () => {
  it('are read as the scan estimates read them, so an odd path gives up day pruning, never a wrong day', () => {
    expect(partitionsOfFiles(['dt=2026-03-01/part-0.parquet'])).toEqual(['2026-03-01']);
    for (const odd of [
      // Only / separates: on S3 this object is outside every partition prefix.
      'orders\\dt=2026-03-01\\part-0.parquet',
      'orders/xdt=2026-03-01/part-0.parquet',
      'orders/dt=2026-02-30/part-0.parquet',
      'orders/dt=2026-03-01/sub/part-0.parquet',
    ])
      expect(partitionsOfFiles(['orders/dt=2026-03-02/a.parquet', odd]), odd).toBeUndefined();
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { partitionedFile } from '../../../lib/offline/dt-partition.ts';
import type { IngestRecord } from '../../../lib/offline/ingest-manifest.ts';
import { pinnedFileReads } from '../../../lib/offline/pinned-file-reads.ts';
import type { SeqPin } from '../../../lib/offline/seq-pins.ts';

const root = '/store/offline';
const day = (n: number) => `scores/dt=2026-03-0${n}`;
const record = (
  ingestId: string,
  firstSeq: number,
  rows: number,
  files?: readonly string[],
  source = 'scores',
): IngestRecord => ({
  ingestId,
  source,
  file: `${ingestId}.csv`,
  sha256: 'a'.repeat(64),
  rows,
  firstSeq,
  at: '2026-12-02T00:00:00Z',
  ...(files ? { files } : {}),
});

/** The plan's three lists as paths relative to the offline root. */
function planOf(files: readonly string[], records: readonly IngestRecord[], pin: SeqPin) {
  const plan = pinnedFileReads(
    root,
    'scores',
    files.map((f) => partitionedFile(path.join(root, f))),
    records,
    pin,
  );
  const relative = (list: readonly { path: string }[]) =>
    list.map((f) => path.relative(root, f.path));
  return {
    whole: relative(plan.whole),
    filtered: relative(plan.filtered),
    skipped: relative(plan.skipped),
  };
}

describe('the files a read as of a pin takes, and how', () => {
  it('reads the files of ingests at or below the pin without a filter and leaves out later ingests', () => {
    const records = [
      record('a', 1, 3, [`${day(1)}/a-0.parquet`, `${day(2)}/a-0.parquet`]),
      record('b', 4, 2, [`${day(2)}/b-0.parquet`, `${day(3)}/b-0.parquet`]),
    ];
    const files = records.flatMap((r) => r.files ?? []);
    expect(planOf(files, records, 3n)).toEqual({
      whole: [`${day(1)}/a-0.parquet`, `${day(2)}/a-0.parquet`],
      filtered: [],
      skipped: [`${day(2)}/b-0.parquet`, `${day(3)}/b-0.parquet`],
    });
  });

  it('filters a compacted file that mixes rows below and above the pin', () => {
    const merged = `${day(2)}/c-0.parquet`;
    const records = [
      record('a', 1, 3, [`${day(1)}/a-0.parquet`, merged]),
      record('b', 4, 2, [merged, `${day(3)}/b-0.parquet`]),
    ];
    expect(planOf([`${day(1)}/a-0.parquet`, merged, `${day(3)}/b-0.parquet`], records, 3n)).toEqual(
      {
        whole: [`${day(1)}/a-0.parquet`],
        filtered: [merged],
        skipped: [`${day(3)}/b-0.parquet`],
      },
    );
  });

  it('reads a compacted file whose ingests are all within the pin without a filter', () => {
    const merged = `${day(2)}/c-0.parquet`;
    const records = [record('a', 1, 3, [merged]), record('b', 4, 2, [merged])];
    expect(planOf([merged], records, 5n)).toEqual({ whole: [merged], filtered: [], skipped: [] });
  });

  it('leaves out the files of an ingest committed after the pin with numbers below it, and filters a file merging it', () => {
    const late = `${day(2)}/l-0.parquet`;
    const merged = `${day(3)}/c-0.parquet`;
    const records = [
      record('a', 1, 3, [`${day(1)}/a-0.parquet`, merged]),
      record('l', 4, 2, [late, merged]),
      record('b', 6, 3, [`${day(4)}/b-0.parquet`]),
    ];
    const pin: SeqPin = { through: 8n, excluded: [{ first: 4n, last: 5n }] };
    expect(
      planOf([`${day(1)}/a-0.parquet`, late, merged, `${day(4)}/b-0.parquet`], records, pin),
    ).toEqual({
      whole: [`${day(1)}/a-0.parquet`, `${day(4)}/b-0.parquet`],
      filtered: [merged],
      skipped: [late],
    });
  });

  it('filters the file of an ingest that an excluded range covers in part (clock numbers overlapping)', () => {
    const records = [record('a', 1, 6, [`${day(1)}/a-0.parquet`])];
    const pin: SeqPin = { through: 9n, excluded: [{ first: 4n, last: 5n }] };
    expect(planOf([`${day(1)}/a-0.parquet`], records, pin).filtered).toEqual([
      `${day(1)}/a-0.parquet`,
    ]);
  });

  it('filters the file of an ingest that reaches past the pin', () => {
    const records = [record('a', 1, 6, [`${day(1)}/a-0.parquet`])];
    expect(planOf([`${day(1)}/a-0.parquet`], records, 3n).filtered).toEqual([
      `${day(1)}/a-0.parquet`,
    ]);
  });

  it('knows the files of a record older than the commit rule by the ingest id in their names', () => {
    const id = '20261202t000000-0000000a';
    const later = '20261202t000001-0000000b';
    const records = [record(id, 1, 2), record(later, 3, 1)];
    expect(
      planOf([`${day(1)}/${id}-0.parquet`, `${day(1)}/${later}-0.parquet`], records, 2n),
    ).toEqual({
      whole: [`${day(1)}/${id}-0.parquet`],
      filtered: [],
      skipped: [`${day(1)}/${later}-0.parquet`],
    });
  });

  it('filters a file no record of the source names, and ignores other sources with the same numbers', () => {
    const records = [
      record('a', 1, 2, [`${day(1)}/a-0.parquet`]),
      record('x', 9, 1, [`${day(1)}/stray-0.parquet`], 'other'),
    ];
    expect(planOf([`${day(1)}/stray-0.parquet`], records, 2n)).toEqual({
      whole: [],
      filtered: [`${day(1)}/stray-0.parquet`],
      skipped: [],
    });
  });

  it('leaves out every file at pin 0 (nothing was committed then)', () => {
    const records = [record('a', 1, 2, [`${day(1)}/a-0.parquet`])];
    expect(planOf([`${day(1)}/a-0.parquet`], records, 0n).skipped).toEqual([
      `${day(1)}/a-0.parquet`,
    ]);
  });
});

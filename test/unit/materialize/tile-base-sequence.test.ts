import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tileBaseSequence } from '../../../lib/materialize/tile-base-writer.ts';
import type { IngestRecord } from '../../../lib/offline/ingest-manifest.ts';

const spendPrefix = 'spend#0123456789ab';
const record = (source: string, firstSeq: number, rows: number, file = `/in/${firstSeq}.jsonl`) =>
  ({ ingestId: `i${firstSeq}`, source, file, sha256: '', rows, firstSeq, at: '' }) as IngestRecord;
const pushFile = (source: string, n: number) =>
  path.join(path.sep, 'data', '_push', source, `20261202T010000.00000${n}-${'a'.repeat(32)}.jsonl`);

describe('the offline sequence a tile base is computed at', () => {
  it('is the last row of the newest ingest of the source, other sources and empty ingests left out', () => {
    expect(
      tileBaseSequence(
        [
          record('payments', 4, 2),
          record('audit', 10, 5),
          record('payments', 1, 3),
          record('payments', 40, 0),
        ],
        'payments',
        spendPrefix,
      ),
    ).toEqual({
      maxSeq: 5n,
      version: 5n * 10n ** 18n + 5n,
      readRanges: [[1n, 5n]],
      pushRanges: [],
    });
  });

  it('is undefined when the source has no committed row', () => {
    expect(
      tileBaseSequence([record('audit', 1, 3), record('payments', 4, 0)], 'payments', spendPrefix),
    ).toBe(undefined);
  });

  it('leaves out the push logs of the source as ranges, adjacent and overlapping ones merged in order', () => {
    const records = [
      record('payments', 20, 2, pushFile('payments', 3)),
      record('payments', 1, 4, pushFile('payments', 1)),
      record('payments', 5, 3, pushFile('payments', 2)),
      record('payments', 6, 1, pushFile('payments', 4)),
      record('payments', 8, 4),
      record('payments', 30, 1, pushFile('audit', 1)),
    ];
    expect(tileBaseSequence(records, 'payments', spendPrefix)).toMatchObject({
      maxSeq: 30n,
      pushRanges: [
        [1n, 7n],
        [20n, 21n],
      ],
    });
  });

  it('reads only the rows of the records read: gaps between them (an ingest committed later with lower numbers) left out', () => {
    const records = [
      record('payments', 100, 5),
      record('payments', 1, 3),
      record('payments', 4, 2),
    ];
    expect(tileBaseSequence(records, 'payments', spendPrefix)?.readRanges).toEqual([
      [1n, 5n],
      [100n, 104n],
    ]);
  });
});

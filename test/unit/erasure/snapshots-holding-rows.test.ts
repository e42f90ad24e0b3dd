import { describe, expect, it } from 'vitest';
import { snapshotsHoldingRows } from '../../../lib/erasure/snapshots-holding-rows.ts';
import { newSnapshot } from '../../../lib/offline/snapshot-format.ts';

const at = (name: string, pins: Record<string, bigint>) =>
  newSnapshot(
    { name, sources: Object.keys(pins) },
    new Map(Object.entries(pins).map(([s, maxSeq]) => [s, { maxSeq, ingestIds: [] }])),
  );
const snapshots = [
  at('before', { orders: 12n }),
  at('exactly', { orders: 13n }),
  at('after', { orders: 40n, visits: 1n }),
  at('other_source', { visits: 99n }),
];

describe('naming the snapshots that held deleted rows (AWS delete, as the local rule)', () => {
  it('names the snapshots pinning the source at or above the smallest deleted fstore_seq', () => {
    expect(
      snapshotsHoldingRows(snapshots, 'orders', [
        { key: 'a', rows: 2, minSeq: 20n },
        { key: 'b', rows: 1, minSeq: 13n },
      ]),
    ).toEqual(['exactly', 'after']);
  });

  it('names every snapshot pinning the source when an object holding rows has no fstore_seq', () => {
    expect(
      snapshotsHoldingRows(snapshots, 'orders', [
        { key: 'a', rows: 2, minSeq: 20n },
        { key: 'b', rows: 1 },
      ]),
    ).toEqual(['before', 'exactly', 'after']);
  });

  it('names none when no object holds rows of the source', () => {
    expect(snapshotsHoldingRows(snapshots, 'orders', [])).toEqual([]);
    expect(snapshotsHoldingRows(snapshots, 'orders', [{ key: 'a', rows: 0, minSeq: 1n }])).toEqual(
      [],
    );
  });
});

import { describe, expect, it } from 'vitest';
import {
  compareIngestOrder,
  type IngestOrder,
} from '../../../../lib/online/aggregation-tiles/ingest-order.ts';
import {
  emptyTileState,
  mergeTileStates,
  stateOfEvent,
  type TileEvent,
} from '../../../../lib/online/aggregation-tiles/tile-state.ts';
import {
  decodeTileStates,
  encodeTileStates,
} from '../../../../lib/online/aggregation-tiles/tile-state-codec.ts';

const log = (n: number) => `20260301T000000.${String(n).padStart(6, '0')}-${'a'.repeat(32)}`;
const pushed = (n: number): IngestOrder => ({ seq: null, pushLog: log(n) });
const base = (seq: number, upTo?: number): IngestOrder => ({
  seq: BigInt(seq),
  ...(upTo === undefined ? {} : { pushLogsUpTo: log(upTo) }),
});
const later = (a: IngestOrder, b: IngestOrder) => compareIngestOrder(a, b) > 0;

describe('the ingest order of rows tied on event and created time (ADR 0020, "Ties for `last`")', () => {
  it('ranks pushed rows by their logs: a later log is ingested later', () => {
    expect(later(pushed(2), pushed(1))).toBe(true);
    expect(later(pushed(1), pushed(2))).toBe(false);
    expect(compareIngestOrder(pushed(3), pushed(3))).toBe(0);
  });

  it('ranks a pushed row above a base row only when its log sorts after every log ingested up to that row', () => {
    expect(later(pushed(5), base(40, 4))).toBe(true);
    expect(later(base(40, 4), pushed(5))).toBe(false);
    expect(later(base(40, 5), pushed(5))).toBe(true);
    expect(later(base(40, 6), pushed(5))).toBe(true);
    // No log with a key ingested before the base row: every keyed push came after it.
    expect(later(pushed(1), base(40))).toBe(true);
  });

  it('ranks rows without a log key as before: by fstore_seq, a missing one lowest', () => {
    expect(later(base(2), base(1, 9))).toBe(true);
    expect(later({ seq: null }, base(1))).toBe(false);
    expect(later(pushed(1), { seq: null })).toBe(true);
    expect(compareIngestOrder({ seq: null }, { seq: null })).toBe(0);
  });

  it('is a total order over base and pushed rows, so merging tied rows in any order keeps one winner', () => {
    // Ingest order: p1, b10, p2, p3, b11, b12, p4 (each base row after the logs up to its key).
    const rows: (IngestOrder & { name: string })[] = [
      { name: 'p1', ...pushed(1) },
      { name: 'b10', ...base(10, 1) },
      { name: 'p2', ...pushed(2) },
      { name: 'p3', ...pushed(3) },
      { name: 'b11', ...base(11, 3) },
      { name: 'b12', ...base(12, 3) },
      { name: 'p4', ...pushed(4) },
    ];
    for (const [i, a] of rows.entries())
      for (const [j, b] of rows.entries())
        expect(Math.sign(compareIngestOrder(a, b)), `${a.name} against ${b.name}`).toBe(
          Math.sign(i - j),
        );
    const events = rows.map(
      ({ name: _, ...order }, i): TileEvent => ({
        ...order,
        eventMicros: 5n,
        createdMicros: 6n,
        value: i,
      }),
    );
    for (let shift = 0; shift < events.length; shift++) {
      const rotated = [...events.slice(shift), ...events.slice(0, shift)].reverse();
      const state = rotated.reduce(
        (s, e) => mergeTileStates(s, stateOfEvent('integer', e)),
        emptyTileState('integer'),
      );
      expect(state.last?.value).toBe(6);
    }
  });

  it('keeps the ordering keys through the stored text, reads states stored without them, and names a damaged one', () => {
    const state = stateOfEvent('float', {
      eventMicros: 1n,
      createdMicros: null,
      seq: null,
      pushLog: log(7),
      value: 1.5,
    });
    expect(decodeTileStates(encodeTileStates({ amount: state }), 'X').amount?.last).toEqual({
      value: 1.5,
      eventMicros: 1n,
      createdMicros: null,
      seq: null,
      pushLog: log(7),
    });
    const stored =
      '{"amount":{"sumKind":"float","count":1,"sum":{"$big":"0"},"last":{"value":1,"seq":null}}}';
    expect(decodeTileStates(stored, 'X').amount?.last).toEqual({ value: 1, seq: null });
    expect(() =>
      decodeTileStates(
        '{"amount":{"sumKind":"float","sum":{"$big":"0"},"last":{"pushLog":7}}}',
        'minute item X',
      ),
    ).toThrow(/column "amount" in minute item X is damaged/);
  });
});

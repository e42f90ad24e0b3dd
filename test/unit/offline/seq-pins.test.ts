import { describe, expect, it } from 'vitest';
import { clockSeq } from '../../../lib/offline/clock-seq.ts';
import { openDuckdb, queryRows } from '../../../lib/offline/duckdb-session.ts';
import {
  committedSeqs,
  exactPins,
  seqFromJson,
  seqJsonSchema,
  seqPinCondition,
  seqToJson,
} from '../../../lib/offline/seq-pins.ts';
import { assertTrinoGrammar } from '../../helpers/trino-grammar.ts';

const record = (source: string, firstSeq: number, rows: number) => ({
  ingestId: `i${firstSeq}`,
  source,
  file: 'x.csv',
  sha256: 'a'.repeat(64),
  rows,
  firstSeq,
  at: '2026-12-02T00:00:00Z',
});

describe('sequence-number pins', () => {
  it('pins the last row of an ingest numbered from the clock exactly, past 2^53', () => {
    const first = clockSeq(Date.parse('2026-12-02T03:00:00Z'));
    const seqs = committedSeqs([record('s3src', first, 9), record('s3src', first - 2 ** 20, 1)]);
    expect(seqs.get('s3src')?.maxSeq).toBe(BigInt(first) + 8n);
    expect(seqPinCondition(new Map([['s3src', BigInt(first) + 8n]]), 's3src')).toBe(
      `"fstore_seq" <= ${BigInt(first) + 8n}`,
    );
  });

  it('writes a seq as a JSON number while exact, else as digits, and reads both back', () => {
    expect(seqToJson(42n)).toBe(42);
    expect(seqToJson(BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(seqToJson(BigInt(Number.MAX_SAFE_INTEGER) + 1n)).toBe('9007199254740992');
    expect(seqFromJson('1905893785501286409')).toBe(1905893785501286409n);
    expect(seqFromJson(42)).toBe(42n);
  });

  it('accepts whole numbers and digit strings in a manifest, and refuses the rest', () => {
    for (const good of [0, 7, '0', '1905893785501286409'])
      expect(seqJsonSchema.safeParse(good).success).toBe(true);
    for (const bad of [-1, 1.5, 2 ** 60, '-3', '01', '1e18', '', '12345678901234567890', null])
      expect(seqJsonSchema.safeParse(bad).success).toBe(false);
  });

  it('refuses a pin outside BIGINT', () => {
    expect(() => seqPinCondition(new Map([['s', -1n]]), 's')).toThrow(/BIGINT >= 0/);
    expect(() => seqPinCondition(new Map([['s', 2n ** 63n]]), 's')).toThrow(/BIGINT >= 0/);
  });

  it('leaves out, as of a recorded pin, the rows of an ingest committed after it with lower numbers', async () => {
    const early = clockSeq(Date.parse('2026-12-02T03:00:00Z'));
    const late = early + 2 ** 20;
    // Recorded while the early ingest had its numbers but no commit: only the late one was there.
    const recorded = { s3src: { maxSeq: seqToJson(BigInt(late) + 1n), ingestIds: [`i${late}`] } };
    const now = [
      record('s3src', early, 2),
      record('s3src', late, 2),
      record('s3src', early + 2 ** 21, 1),
    ];
    const pins = exactPins(recorded, now);
    expect(pins.get('s3src')).toEqual({
      through: BigInt(late) + 1n,
      excluded: [{ first: BigInt(early), last: BigInt(early) + 1n }],
    });
    const condition = seqPinCondition(pins, 's3src') as string;
    assertTrinoGrammar({ name: 'exact pin', sql: `SELECT * FROM t WHERE ${condition}` });
    const session = await openDuckdb();
    try {
      const seqs = [0n, 1n, 2n ** 20n, 2n ** 20n + 1n, 2n ** 21n].map(
        (n) => `(${BigInt(early) + n}::BIGINT)`,
      );
      const rows = await queryRows(
        session.connection,
        `SELECT fstore_seq FROM (VALUES ${seqs.join(', ')}) AS t(fstore_seq) WHERE ${condition} ORDER BY 1`,
      );
      expect(rows.map((r) => BigInt(r.fstore_seq as bigint))).toEqual([
        BigInt(late),
        BigInt(late) + 1n,
      ]);
    } finally {
      session.close();
    }
  });

  it('keeps a plain pin when every ingest at or below it is one the record names', () => {
    const pins = exactPins({ s: { maxSeq: 5, ingestIds: ['i1', 'i4'] } }, [
      record('s', 1, 3),
      record('s', 4, 2),
      record('s', 6, 4),
      record('other', 2, 1),
    ]);
    expect(pins.get('s')).toBe(5n);
    expect(seqPinCondition(pins, 's')).toBe('"fstore_seq" <= 5');
  });

  it('never leaves out rows of an ingest the record names, where a later ingest shares its numbers', () => {
    // S3 ingests number rows from the clock (ms × 2^20): one of more than 2^20 rows runs into the
    // numbers of an ingest started 1 ms later, and two started in the same ms share them.
    const start = clockSeq(Date.parse('2026-12-02T03:00:00Z'));
    const big = record('s', start, 2 ** 20 + 10);
    const late = { ...record('s', start + 2 ** 20, 5), ingestId: 'late' };
    const sameMs = { ...record('s', start, 3), ingestId: 'same-ms' };
    const pins = exactPins(
      { s: { maxSeq: seqToJson(BigInt(start) + BigInt(2 ** 20) + 9n), ingestIds: [big.ingestId] } },
      [big, late, sameMs],
    );
    // All of late and same-ms lie inside big's numbers: nothing can be left out without big's rows.
    expect(pins.get('s')).toBe(BigInt(start) + BigInt(2 ** 20) + 9n);
    // Partly shared: only the numbers no named ingest holds are left out (small numbers here:
    // records carry firstSeq as a double, exact for clock numbers only at multiples of 2^20).
    const partly = exactPins({ s: { maxSeq: 21, ingestIds: ['i1', 'i13'] } }, [
      record('s', 1, 10),
      { ...record('s', 6, 10), ingestId: 'late' },
      record('s', 13, 9),
    ]);
    expect(partly.get('s')).toEqual({ through: 21n, excluded: [{ first: 11n, last: 12n }] });
  });
});

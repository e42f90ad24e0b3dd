import { describe, expect, it } from 'vitest';
import { clockSeq } from '../../../lib/offline/clock-seq.ts';
import {
  committedSeqs,
  seqFromJson,
  seqJsonSchema,
  seqPinCondition,
  seqToJson,
} from '../../../lib/offline/seq-pins.ts';

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
});

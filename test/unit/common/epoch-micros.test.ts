import { describe, expect, it } from 'vitest';
import { Prng } from '../../../lib/demo/prng.ts';
import {
  dayOfMicros,
  formatMicros,
  laterIso,
  minusSeconds,
  normalizeIso,
  parseEpochMicros,
  plusSeconds,
  sqlTimestampText,
} from '../../../lib/epoch-micros.ts';

const april = 1_711_929_600_000_000n; // 2024-04-01T00:00:00Z

describe('microsecond timestamps', () => {
  it('parses microseconds that Date.parse would drop', () => {
    expect(parseEpochMicros('2024-04-01T00:00:00.000300Z')).toBe(april + 300n);
    expect(parseEpochMicros('2024-04-01 00:00:00.0003')).toBe(april + 300n);
    expect(parseEpochMicros('2024-04-01T00:00:00.000000001Z')).toBe(april);
    expect(parseEpochMicros('2024-04-01T00:00:00.123456789Z')).toBe(april + 123_456n);
  });

  it('applies offsets in every spelling and reads a missing one as UTC', () => {
    const noonUtc = april + 12n * 3600n * 1_000_000n + 7n;
    for (const text of [
      '2024-04-01T14:00:00.000007+02:00',
      '2024-04-01T14:00:00.000007+0200',
      '2024-04-01T14:00:00.000007+02',
      '2024-04-01 07:30:00.000007-04:30',
      '2024-04-01T12:00:00.000007',
      '2024-04-01 12:00:00.000007+00',
    ])
      expect(parseEpochMicros(text), text).toBe(noonUtc);
    expect(parseEpochMicros('2024-04-01')).toBe(april);
  });

  it('rejects what is not a date or time, and impossible dates', () => {
    for (const text of [
      'last tuesday',
      '2024-02-30',
      '2023-02-29T00:00:00Z',
      '2024-04-01T24:00:00Z',
      '2024-13-01',
      '',
    ])
      expect(parseEpochMicros(text), text).toBeUndefined();
    expect(parseEpochMicros('2024-02-29T00:00:00Z')).toBeDefined();
  });

  it('formats with six fractional digits, also before 1970', () => {
    expect(formatMicros(april + 300n)).toBe('2024-04-01T00:00:00.000300Z');
    expect(formatMicros(-1n)).toBe('1969-12-31T23:59:59.999999Z');
    expect(sqlTimestampText(april + 500n)).toBe('2024-04-01 00:00:00.000500');
    expect(dayOfMicros(april - 1n)).toBe('2024-03-31');
    expect(normalizeIso('2024-04-01T02:00:00.0005+02:00')).toBe('2024-04-01T00:00:00.000500Z');
  });

  it('agrees with Date on whole milliseconds across centuries', () => {
    const prng = new Prng(7);
    for (let i = 0; i < 2000; i++) {
      const millis = Math.floor((prng.next() - 0.5) * 2 * 8e12);
      const iso = new Date(millis).toISOString();
      expect(parseEpochMicros(iso), iso).toBe(BigInt(millis) * 1000n);
      expect(formatMicros(BigInt(millis) * 1000n)).toBe(iso.replace('Z', '000Z'));
    }
  });

  it('adds and subtracts whole seconds without losing microseconds', () => {
    expect(formatMicros(minusSeconds(april + 500n, 3600))).toBe('2024-03-31T23:00:00.000500Z');
    expect(formatMicros(plusSeconds(april + 1n, 86_400))).toBe('2024-04-02T00:00:00.000001Z');
  });

  it('picks the later of two instants by microseconds', () => {
    expect(laterIso('2024-04-01T00:00:00.000300Z', '2024-04-01T00:00:00.000700Z')).toBe(
      '2024-04-01T00:00:00.000700Z',
    );
    expect(laterIso('2024-04-01T00:00:00.000700Z', '2024-04-01T00:00:00.000300Z')).toBe(
      '2024-04-01T00:00:00.000700Z',
    );
    expect(laterIso(undefined, '2024-04-01T00:00:00Z')).toBe('2024-04-01T00:00:00Z');
  });
});

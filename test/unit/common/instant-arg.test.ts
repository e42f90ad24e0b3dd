import { describe, expect, it } from 'vitest';
import { InstantArgError, instantArg } from '../../../lib/instant-arg.ts';

describe('date and time arguments', () => {
  it('accepts dates and instants with any offset, as ISO UTC', () => {
    expect(instantArg('2026-03-01', '--start')).toBe('2026-03-01T00:00:00.000000Z');
    expect(instantArg('2026-03-01T14:00:00+02:00', '--end')).toBe('2026-03-01T12:00:00.000000Z');
  });

  it('keeps the microseconds of an instant', () => {
    expect(instantArg('2026-03-01T14:00:00.000300+02:00', '--end')).toBe(
      '2026-03-01T12:00:00.000300Z',
    );
  });

  it('rejects what is not a date, naming the flag', () => {
    expect(() => instantArg('last tuesday', '--start')).toThrow(InstantArgError);
    expect(() => instantArg('last tuesday', '--start')).toThrow(
      '--start is not a date or time: "last tuesday"',
    );
  });
});

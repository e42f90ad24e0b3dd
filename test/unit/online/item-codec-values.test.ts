import { describe, expect, it } from 'vitest';
import type { ValueType } from '../../../lib/definitions/index.ts';
import { encodeValue, ItemCodecError, toEpochMicros } from '../../../lib/online/item-codec.ts';

const refusal = (type: ValueType, value: unknown) => {
  try {
    encodeValue(type, value, 'f.x');
  } catch (error) {
    if (error instanceof ItemCodecError) return { message: error.message, hint: error.hint };
    throw error;
  }
  throw new Error(`${String(value)} was accepted as ${type}`);
};

describe('feature values as DynamoDB attributes', () => {
  it('stores a missing value as NULL, for every type', () => {
    for (const type of ['int64', 'string', 'list<int64>'] as const) {
      expect(encodeValue(type, null, 'f.x'), type).toEqual({ NULL: true });
      expect(encodeValue(type, undefined, 'f.x'), type).toEqual({ NULL: true });
    }
  });

  it('stores an integer given as a number, a bigint or decimal digits, all as N', () => {
    expect(encodeValue('int64', 12, 'f.x')).toEqual({ N: '12' });
    expect(encodeValue('int64', 9_007_199_254_740_993n, 'f.x')).toEqual({ N: '9007199254740993' });
    expect(encodeValue('int64', '-9007199254740993', 'f.x')).toEqual({ N: '-9007199254740993' });
  });

  it('refuses an integer that is not one, naming where', () => {
    for (const value of ['12abc', 'x12', '1.5', 1.5, true])
      expect(refusal('int64', value), String(value)).toEqual({
        message: `f.x must be an integer, got ${JSON.stringify(value)}`,
        hint: 'check the source data',
      });
  });

  it('refuses NaN and infinities for a float', () => {
    expect(refusal('float64', Number.NaN)).toEqual({
      message: 'f.x must be a finite number, got NaN',
      hint: 'NaN and infinities cannot be stored online',
    });
    expect(refusal('float32', '1.5').message).toBe('f.x must be a finite number, got 1.5');
  });

  it('refuses the wrong kind for text and booleans', () => {
    expect(refusal('string', 3)).toEqual({
      message: 'f.x must be a string, got number',
      hint: 'check the source data',
    });
    expect(refusal('bool', 'true')).toEqual({
      message: 'f.x must be a boolean, got string',
      hint: 'check the source data',
    });
  });

  it('stores a list element by element and names the element it refuses', () => {
    expect(encodeValue('list<int32>', [1, null], 'f.x')).toEqual({
      L: [{ N: '1' }, { NULL: true }],
    });
    expect(refusal('list<int32>', [1, 'two'])).toEqual({
      message: 'f.x[1] must be an integer, got "two"',
      hint: 'check the source data',
    });
    expect(refusal('list<int32>', '1,2')).toEqual({
      message: 'f.x must be a list, got string',
      hint: 'pass an array',
    });
  });

  it('does not take a type that merely contains a list type for a list', () => {
    expect(refusal('xlist<int32>' as ValueType, [1]).message).toBe(
      'f.x has unsupported type xlist<int32>',
    );
    expect(refusal('list<int32>x' as ValueType, [1]).message).toBe(
      'f.x has unsupported type list<int32>x',
    );
  });
});

describe('timestamps as epoch microseconds', () => {
  it('takes a bigint as microseconds and a Date as milliseconds', () => {
    expect(toEpochMicros(1_772_409_600_000_001n, 'ts')).toBe(1_772_409_600_000_001n);
    expect(toEpochMicros(new Date('2026-03-02T00:00:00.001Z'), 'ts')).toBe(1_772_409_600_001_000n);
  });
});

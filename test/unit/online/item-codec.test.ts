import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  decodeValue,
  encodeValue,
  ItemCodecError,
  microsToIso,
  toEpochMicros,
} from '../../../lib/online/item-codec.ts';

describe('online item codec', () => {
  it.each([
    ['int32', 42, { N: '42' }],
    ['int64', '9007199254740993', { N: '9007199254740993' }],
    ['float64', 0.1, { N: '0.1' }],
    ['string', 'gold', { S: 'gold' }],
    ['bool', false, { BOOL: false }],
    ['timestamp', '2026-03-01 12:00:00', { S: '2026-03-01T12:00:00.000000Z' }],
    ['list<float32>', [0.5, null, 2], { L: [{ N: '0.5' }, { NULL: true }, { N: '2' }] }],
    ['string', null, { NULL: true }],
  ] as const)('stores %s %j natively and reads it back', (type, value, attribute) => {
    expect(encodeValue(type, value, 'f')).toEqual(attribute);
    const back = decodeValue(type, attribute as AttributeValue);
    if (type === 'timestamp') expect(back).toBe('2026-03-01T12:00:00.000000Z');
    else expect(back).toEqual(value);
  });

  it.each([
    ['int32', 1.5, 'must be an integer'],
    ['float64', Number.NaN, 'must be a finite number'],
    ['string', 3, 'must be a string'],
    ['bool', 'yes', 'must be a boolean'],
    ['timestamp', 'noon', 'is not a timestamp'],
    ['list<int32>', 'x', 'must be a list'],
  ] as const)('refuses %s %j', (type, value, message) => {
    expect(() => encodeValue(type, value, 'view.f')).toThrow(ItemCodecError);
    expect(() => encodeValue(type, value, 'view.f')).toThrow(`view.f ${message}`);
  });

  it('keeps microseconds and converts offsets to UTC', () => {
    expect(toEpochMicros('2026-03-01T12:00:00.123456+02:00', 't')).toBe(
      BigInt(Date.UTC(2026, 2, 1, 10)) * 1000n + 123_456n,
    );
    expect(microsToIso(BigInt(Date.UTC(2026, 2, 1, 10)) * 1000n + 123_456n)).toBe(
      '2026-03-01T10:00:00.123456Z',
    );
  });

  it("reads DuckDB's timestamp text and nanoseconds to the microsecond, and times before 1970", () => {
    const april = 1_711_929_600_000_000n;
    expect(toEpochMicros('2024-04-01 00:00:00.0003', 't')).toBe(april + 300n);
    expect(toEpochMicros('2024-04-01T00:00:00.000700999Z', 't')).toBe(april + 700n);
    expect(encodeValue('timestamp', '2024-04-01 00:00:00.0007', 'v.f')).toEqual({
      S: '2024-04-01T00:00:00.000700Z',
    });
    expect(microsToIso(-1n)).toBe('1969-12-31T23:59:59.999999Z');
  });
});

import { describe, expect, it } from 'vitest';
import {
  attributeJson,
  decodeValue,
  encodeValue,
  ItemCodecError,
} from '../../../lib/online/item-codec.ts';

// DynamoDB numbers hold magnitudes from 1e-130 to under 1e126 and have no negative zero: it
// refuses 1e-300 ("Number underflow") and keeps -0 as 0. Such doubles go as their text.
const asText = [1e-300, -1e-300, 5e-324, 1e-131, 1.7976931348623157e308, -1e200, 1e126, -0];
const asNumber = [0, 0.1, 0.1 + 0.2, -123.5, 1e125, 9.99999999999999e125, 1e-130, -1e-130];

describe('float features outside what a DynamoDB number holds', () => {
  it.each(asText)('stores %s as its text, read back to the same bits', (value) => {
    for (const type of ['float64', 'float32'] as const) {
      const attribute = encodeValue(type, value, 'f.x');
      expect(attribute).toEqual({ S: Object.is(value, -0) ? '-0' : String(value) });
      expect(Object.is(decodeValue(type, attribute), value)).toBe(true);
      expect(attributeJson(type, attribute)).toBe(Object.is(value, -0) ? '-0' : String(value));
      expect(Object.is(JSON.parse(attributeJson(type, attribute) ?? ''), value)).toBe(true);
    }
  });

  it.each(asNumber)('stores %s as a number, as before', (value) => {
    expect(encodeValue('float64', value, 'f.x')).toEqual({ N: String(value) });
    expect(decodeValue('float64', { N: String(value) })).toBe(value);
  });

  it('keeps such text inside a list of floats', () => {
    const attribute = encodeValue('list<float64>', [1e-300, -0, 2], 'f.x');
    expect(attribute).toEqual({ L: [{ S: '1e-300' }, { S: '-0' }, { N: '2' }] });
    expect(decodeValue('list<float64>', attribute)).toEqual([1e-300, -0, 2]);
  });

  it('still reads text that is no number as the text it is (never from this writer)', () => {
    expect(decodeValue('float64', { S: 'abc' })).toBe('abc');
    expect(decodeValue('float64', { S: '' })).toBe('');
    expect(decodeValue('string', { S: '-0' })).toBe('-0');
  });

  it('still refuses NaN and infinities', () => {
    expect(() => encodeValue('float64', Number.POSITIVE_INFINITY, 'f.x')).toThrow(ItemCodecError);
    expect(() => encodeValue('float64', Number.NaN, 'f.x')).toThrow(ItemCodecError);
  });
});

import { describe, expect, it } from 'vitest';
import { isObject } from '../../../lib/is-object.ts';

describe('isObject', () => {
  it('accepts objects of named fields, with or without a prototype', () => {
    expect(isObject({})).toBe(true);
    expect(isObject({ a: 1 })).toBe(true);
    expect(isObject(Object.create(null))).toBe(true);
  });

  it('refuses null, arrays and every other kind of value', () => {
    for (const value of [null, undefined, [], [1], 'object', 0, true, 1n])
      expect(isObject(value)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import type { JoinKeyType } from '../../../lib/definitions/index.ts';
import { EntityKeyError, encodeEntityKey, partitionKey } from '../../../lib/online/entity-key.ts';

const refusal = (type: JoinKeyType, value: unknown) => {
  try {
    encodeEntityKey([{ name: 'id', type }], { id: value });
  } catch (error) {
    if (error instanceof EntityKeyError) return { message: error.message, hint: error.hint };
    throw error;
  }
  throw new Error(`${String(value)} was accepted as ${type}`);
};

describe('join-key values an entity key refuses, each with what to do', () => {
  it('a missing or null value', () => {
    const missing = { message: 'join key "id" is missing', hint: 'give "id" a string value' };
    expect(refusal('string', undefined)).toEqual(missing);
    expect(refusal('string', null)).toEqual(missing);
  });

  it('a number for a string key, and an empty string', () => {
    expect(refusal('string', 7)).toEqual({
      message: 'join key "id" must be a string, got the number 7',
      hint: 'quote the value',
    });
    expect(refusal('string', '')).toEqual({
      message: 'join key "id" is empty',
      hint: 'give a non-empty value',
    });
  });

  it('text, a fraction or a boolean for an integer key', () => {
    expect(refusal('int64', '12')).toEqual({
      message: 'join key "id" must be an integer (int64), got the string "12"',
      hint: 'pass a whole number',
    });
    expect(refusal('int32', 1.5).message).toBe(
      'join key "id" must be an integer (int32), got the number 1.5',
    );
    expect(refusal('int64', true).message).toBe(
      'join key "id" must be an integer (int64), got boolean',
    );
  });

  it('an integer outside its type, the edges themselves accepted', () => {
    expect(encodeEntityKey([{ name: 'id', type: 'int32' }], { id: -2_147_483_648 })).toBe(
      'id=-2147483648',
    );
    expect(encodeEntityKey([{ name: 'id', type: 'int32' }], { id: 2_147_483_647 })).toBe(
      'id=2147483647',
    );
    expect(refusal('int32', -2_147_483_649)).toEqual({
      message: 'join key "id" is outside the int32 range',
      hint: 'use a value from -2147483648 to 2147483647',
    });
    expect(refusal('int32', 2_147_483_648).message).toBe(
      'join key "id" is outside the int32 range',
    );
    expect(refusal('int64', -(2n ** 63n) - 1n).hint).toBe(
      'use a value from -9223372036854775808 to 9223372036854775807',
    );
  });
});

describe('entity key text', () => {
  it('leaves spaces and other printable characters as they are, also beside an escaped one', () => {
    const city = (value: string) =>
      encodeEntityKey([{ name: 'city', type: 'string' }], { city: value });
    expect(city('New York ~!')).toBe('city=New York ~!');
    expect(city('New York|NY')).toBe('city=New York%7CNY');
  });

  it('refuses a partition key over 2048 UTF-8 bytes, saying how long it is', () => {
    const error = (() => {
      try {
        return partitionKey('v1', 'é'.repeat(1100));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EntityKeyError);
    expect((error as EntityKeyError).message).toBe(
      'entity key is 2203 bytes with its view prefix; DynamoDB allows 2048',
    );
    expect((error as EntityKeyError).hint).toBe('use shorter join-key values');
  });
});

import { describe, expect, it } from 'vitest';
import {
  decodeEntityKey,
  EntityKeyError,
  encodeEntityKey,
  partitionKey,
} from '../../../lib/online/entity-key.ts';

const customer = [{ name: 'customer_id', type: 'string' as const }];
const card = [
  { name: 'bank_id', type: 'int32' as const },
  { name: 'card', type: 'string' as const },
];

describe('entity key encoding', () => {
  it('reads as name=value, joined by | in the view key order', () => {
    expect(encodeEntityKey(customer, { customer_id: 'C000001' })).toBe('customer_id=C000001');
    expect(encodeEntityKey(card, { card: '4111', bank_id: 12 })).toBe('bank_id=12|card=4111');
  });

  it('escapes |, = and % so keys split back unambiguously', () => {
    const key = encodeEntityKey(card, { bank_id: 1, card: 'a|b=c%d\n' });
    expect(key).toBe('bank_id=1|card=a%7Cb%3Dc%25d%0A');
    expect(decodeEntityKey(key)).toEqual({ bank_id: '1', card: 'a|b=c%d\n' });
  });

  it('escapes every control character, DEL included, and leaves other text as it is', () => {
    expect(encodeEntityKey(customer, { customer_id: 'a\u0000b\u001fc\u007fd\u0080é' })).toBe(
      'customer_id=a%00b%1Fc%7Fd\u0080é',
    );
    expect(encodeEntityKey(customer, { customer_id: 'plain-C1_x.y' })).toBe(
      'customer_id=plain-C1_x.y',
    );
  });

  it('accepts 64-bit integers beyond JavaScript safe integers as bigint', () => {
    expect(
      encodeEntityKey([{ name: 'id', type: 'int64' }], { id: 9_223_372_036_854_775_807n }),
    ).toBe('id=9223372036854775807');
  });

  it.each([
    [customer, {}, 'join key "customer_id" is missing'],
    [customer, { customer_id: 7 }, 'join key "customer_id" must be a string, got the number 7'],
    [customer, { customer_id: '' }, 'join key "customer_id" is empty'],
    [
      card,
      { bank_id: '12', card: 'x' },
      'join key "bank_id" must be an integer (int32), got the string "12"',
    ],
    [card, { bank_id: 1.5, card: 'x' }, 'must be an integer'],
    [card, { bank_id: 2 ** 31, card: 'x' }, 'join key "bank_id" is outside the int32 range'],
  ])('rejects %j with %j', (keys, values, message) => {
    expect(() => encodeEntityKey(keys, values)).toThrow(EntityKeyError);
    expect(() => encodeEntityKey(keys, values)).toThrow(message);
  });

  it('counts the 2048 bytes in UTF-8, not in characters', () => {
    // 'p#customer_id=' is 14 bytes; 1016 × 'é' (2 bytes each) makes 2046.
    const accents = 'é'.repeat(1016);
    expect(Buffer.byteLength(partitionKey('p', `customer_id=${accents}xx`))).toBe(2048);
    expect(() => partitionKey('p', `customer_id=${accents}éx`)).toThrow('2049 bytes');
  });

  it("prefixes the view version and refuses keys over DynamoDB's 2048 bytes", () => {
    expect(partitionKey('profile#abc', 'customer_id=C1')).toBe('profile#abc#customer_id=C1');
    expect(() => partitionKey('profile#abc', `customer_id=${'x'.repeat(2100)}`)).toThrow(
      'DynamoDB allows 2048',
    );
  });
});

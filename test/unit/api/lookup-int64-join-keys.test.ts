import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../lib/api/api-error.ts';
import { validateLookupBody } from '../../../lib/api/validate-lookup.ts';
import type { JoinKeyType } from '../../../lib/definitions/index.ts';

const limits = { maxEntities: 1000, maxBodyBytes: 262_144 };
const keys = (type: JoinKeyType) => ({
  joinKeys: [
    { name: 'bank_id', type: 'string' as const },
    { name: 'card', type },
  ],
  featureNames: ['amount'],
});

/** The body `{"entities":[{"bank_id":"B1"},{"bank_id":"B2","card":<cardJson>}]}`: the key sits in entity 1. */
const bodyWith = (cardJson: string) =>
  `{"entities":[{"bank_id":"B1","card":1},{"bank_id":"B2","card":${cardJson}}]}`;

const refusal = (cardJson: string, type: JoinKeyType = 'int64') => {
  try {
    validateLookupBody(bodyWith(cardJson), keys(type), limits);
  } catch (error) {
    if (error instanceof ApiError)
      return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error(`${cardJson} was accepted as ${type}`);
};

describe('an int64 join key in a lookup', () => {
  it.each([
    ['a safe JSON number', '9007199254740991', 9007199254740991],
    ['a negative safe JSON number', '-9007199254740991', -9007199254740991],
    ['a decimal string beyond 2^53', '"9007199254740993"', '9007199254740993'],
    ['the int64 maximum as a string', '"9223372036854775807"', '9223372036854775807'],
    ['the int64 minimum as a string', '"-9223372036854775808"', '-9223372036854775808'],
    ['a small decimal string', '"42"', '42'],
    ['a whole number written with an exponent', '1e3', 1000],
  ])('accepts %s, kept as it was sent', (_, cardJson, kept) => {
    const body = validateLookupBody(bodyWith(cardJson), keys('int64'), limits);
    expect(body.entities[1]).toEqual({ bank_id: 'B2', card: kept });
  });

  it.each([
    ['a fraction', '1.5', 'must be an int64 (a whole JSON number, or a decimal string), got 1.5'],
    [
      'a JSON number beyond 2^53, already rounded by the parser',
      '9007199254740993',
      'is a JSON number beyond 2^53, where digits are lost (this one was read as 9007199254740992); send the key as a decimal string',
    ],
    [
      'a negative JSON number beyond -2^53',
      '-9007199254740993',
      'is a JSON number beyond 2^53, where digits are lost (this one was read as -9007199254740992)',
    ],
    [
      'a decimal string above the int64 range',
      '"9223372036854775808"',
      '"9223372036854775808" is outside the int64 range -9223372036854775808..9223372036854775807',
    ],
    [
      'a decimal string below the int64 range',
      '"-9223372036854775809"',
      'is outside the int64 range',
    ],
    ['a string of 400 digits', `"${'9'.repeat(400)}"`, 'is outside the int64 range'],
    [
      'a non-numeric string',
      '"12a"',
      'must be an int64 (a whole JSON number, or a decimal string), got "12a"',
    ],
    ['a decimal string with a fraction', '"12.0"', 'got "12.0"'],
    ['a decimal string with a plus sign', '"+12"', 'got "+12"'],
    ['a decimal string with spaces', '" 12"', 'got " 12"'],
    ['an empty string', '""', 'got ""'],
    ['a decimal string with an exponent', '"1e3"', 'got "1e3"'],
  ])('refuses %s with 400, naming the entity index and key', (_, cardJson, problem) => {
    const got = refusal(cardJson);
    expect(got).toMatchObject({ status: 400, code: 'INVALID_JOIN_KEY' });
    expect(got.message).toMatch(/^\$\.entities\[1\]\.card: /);
    expect(got.message).toContain(problem);
  });
});

describe('an int32 join key in a lookup', () => {
  it('accepts a whole JSON number within int32', () => {
    const body = validateLookupBody(bodyWith('-2147483648'), keys('int32'), limits);
    expect(body.entities[1]).toEqual({ bank_id: 'B2', card: -2147483648 });
  });

  it.each([
    ['a decimal string', '"12"', 'must be an int32 (a whole JSON number), got "12"'],
    ['a fraction', '0.5', 'must be an int32 (a whole JSON number), got 0.5'],
    [
      'a number outside int32',
      '2147483648',
      '2147483648 is outside the int32 range -2147483648..2147483647',
    ],
  ])('refuses %s with 400, naming the entity index and key', (_, cardJson, problem) => {
    const got = refusal(cardJson, 'int32');
    expect(got).toMatchObject({ status: 400, code: 'INVALID_JOIN_KEY' });
    expect(got.message).toBe(`$.entities[1].card: ${problem}`);
  });
});

import { describe, expect, it } from 'vitest';
import { valueProblem } from '../../../lib/push/push-values.ts';

/** The double just below 1e126 (the literal 9.999999999999999e125 rounds to 1e126 itself). */
const largestStorableDouble = 9.999999999999998e125;

describe('valueProblem for numbers the online store must hold', () => {
  it.each([0, -0, 1e-130, -1e-130, largestStorableDouble, -largestStorableDouble, 12.5])(
    'accepts the float64 %s, inside DynamoDB’s number range',
    (value) => {
      expect(valueProblem('float64', value)).toBeUndefined();
    },
  );

  it.each([1e-131, -1e-131, 1e-200, Number.MIN_VALUE, 1e126, -1e126, 1e130])(
    'refuses the float64 %s, outside DynamoDB’s number range',
    (value) => {
      expect(valueProblem('float64', value)).toContain('outside the range the online store');
    },
  );

  it('refuses a float32 list element below DynamoDB’s smallest magnitude, naming its index', () => {
    expect(valueProblem('list<float32>', [1, 1e-140])).toMatch(/^\[1\] .*online store/);
  });
});

describe('valueProblem for timestamps', () => {
  it.each(['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999Z'])(
    'accepts %s, at the edge of years 0001 to 9999',
    (value) => {
      expect(valueProblem('timestamp', value)).toBeUndefined();
    },
  );

  it.each(['0000-12-31T23:59:59Z', '+10000-01-01T00:00:00Z', '9999-12-31T23:59:59-01:00'])(
    'refuses %s, outside years 0001 to 9999',
    (value) => {
      expect(valueProblem('timestamp', value)).toContain('outside years 0001 to 9999');
    },
  );
});

describe('valueProblem for strings', () => {
  it('accepts text with a surrogate pair (an emoji)', () => {
    expect(valueProblem('string', 'ok 😀')).toBeUndefined();
  });

  it.each([
    ['a lone high surrogate', 'a\ud800b', 'd800'],
    ['a lone low surrogate', '\udc00', 'dc00'],
    ['a pair written backwards', '\ude00\ud83d', 'de00'],
  ])('refuses %s, which the push log could not be read back with', (_, value, unit) => {
    expect(valueProblem('string', value)).toContain(`lone UTF-16 surrogate (\\u${unit}`);
  });
});

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ValueType } from '../../../lib/definitions/index.ts';
import {
  attributeJson,
  decodeValue,
  isShortestNumberText,
} from '../../../lib/online/item-codec.ts';

const types: ValueType[] = [
  'int32',
  'int64',
  'float32',
  'float64',
  'string',
  'bool',
  'timestamp',
  'list<int64>',
  'list<float64>',
  'list<string>',
];

const digits = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });

/** Short text, with characters JSON escapes (quotes, controls, U+2028, a lone surrogate). */
const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('"\\', '\u2028\u0000\n', 'é😀', '\ud800x'),
);

/** Number text as DynamoDB may hold it, and forms it does not write (leading zeros, exponents). */
const numberText = fc.oneof(
  fc.double().filter(Number.isFinite).map(String),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
  fc
    .tuple(
      fc.constantFrom('', '-'),
      digits(1, 18),
      fc.option(digits(0, 18)),
      fc.option(
        fc.tuple(fc.constantFrom('e', 'E', 'e+', 'e-'), digits(1, 3)).map((p) => p.join('')),
      ),
    )
    .map(([sign, whole, fraction, exponent]) =>
      [sign, whole, fraction === null ? '' : `.${fraction}`, exponent ?? ''].join(''),
    ),
  fc.constantFrom('-0', '0.000001', '0.0000001', '-0.0000001', '1e21', '100', '0.1', '1.50'),
);

describe('attribute values written as JSON text', () => {
  it('takes number text as it is only where String(Number(text)) gives it back', () => {
    fc.assert(
      fc.property(numberText, (text) => {
        if (isShortestNumberText(text)) expect(String(Number(text))).toBe(text);
      }),
      { numRuns: 5000, seed: 11 },
    );
  });

  it.each(['0', '-3', '1.5', '148.5', '123456789012345', '0.000001', '-0.25'])(
    'takes %s as it is',
    (text) => {
      expect(isShortestNumberText(text)).toBe(true);
    },
  );

  it.each(['-0', '1.50', '007', '1e5', '0.0000001', '1234567890123456', '.5', '5.'])(
    'does not take %s as it is',
    (text) => {
      expect(isShortestNumberText(text)).toBe(false);
    },
  );

  it('writes what JSON.stringify makes of the decoded value, and nothing where it is null', () => {
    const scalar = fc.oneof(
      numberText.map((N): AttributeValue => ({ N })),
      text.map((S): AttributeValue => ({ S })),
      fc.boolean().map((BOOL): AttributeValue => ({ BOOL })),
      fc.constant<AttributeValue>({ NULL: true }),
      fc.constant<AttributeValue>({ M: {} }),
    );
    const attribute = fc.oneof(
      scalar,
      fc.array(scalar, { maxLength: 3 }).map((L): AttributeValue => ({ L })),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.option(attribute, { nil: undefined }),
        (type, a) => {
          const value = decodeValue(type, a);
          expect(attributeJson(type, a)).toBe(value === null ? undefined : JSON.stringify(value));
        },
      ),
      { numRuns: 1000, seed: 5 },
    );
  });
});

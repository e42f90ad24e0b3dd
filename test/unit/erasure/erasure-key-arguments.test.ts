import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { entityKeyMatches, parseErasureKeys } from '../../../lib/erasure/erasure-keys.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';

// The refusals and edges of `--entity key=value` beyond erasure-keys.test.ts.
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const bank = defineEntity({ name: 'bank', joinKeys: [{ name: 'bank_id', type: 'int32' }] });
const source = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', bank_id: 'int32', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const registry = compileRegistry(
  [
    defineFeatureView({ name: 'a', entities: [customer], source, features: { amount: 'float64' } }),
    defineFeatureView({ name: 'b', entities: [bank], source, features: { amount: 'float64' } }),
  ].map((definition) => ({ definition })),
);
const refusal = (texts: string[]) => {
  try {
    parseErasureKeys(registry, texts);
  } catch (error) {
    return { message: (error as Error).message, hint: (error as { hint?: string }).hint };
  }
  throw new Error(`${texts.join(' ')} was accepted`);
};

describe('parseErasureKeys refusals', () => {
  it('refuses an argument that is not key=value, or has no key before =, listing the known keys', () => {
    for (const text of ['customer_id', '=C1']) {
      const { message, hint } = refusal([text]);
      expect(message, text).toBe(`--entity #1 "${text}" is not <join key>=<value>`);
      expect(hint, text).toMatch(
        /^write e\.g\. --entity \w+=C1; known join keys: bank_id, customer_id$/,
      );
    }
  });

  it('refuses a key no entity has, with the closest known key', () => {
    expect(refusal(['customer=C1'])).toEqual({
      message:
        '--entity #1 "customer=C1": "customer" is not a join key of any entity or feature view; did you mean "customer_id"?',
      hint: 'known join keys: bank_id, customer_id',
    });
  });

  it('refuses an empty string value and an empty list of arguments', () => {
    expect(refusal(['customer_id='])).toEqual({
      message: '--entity #1 "customer_id=": customer_id is empty',
      hint: 'give the key’s value',
    });
    expect(refusal([])).toEqual({
      message: 'no --entity given',
      hint: 'write e.g. --entity customer_id=C1',
    });
  });

  it('refuses integer text with trailing characters, naming the key’s type', () => {
    expect(refusal(['bank_id=12x'])).toEqual({
      message: '--entity #1 "bank_id=12x": bank_id must be a whole number (int32), got "12x"',
      hint: 'bank_id is int32',
    });
    expect(refusal(['bank_id=-2147483649']).hint).toBe('check the value');
  });
});

describe('parseErasureKeys values', () => {
  it('trims the key and an integer value, and takes the int32 range’s ends', () => {
    expect(parseErasureKeys(registry, [' bank_id = 7 ', 'bank_id=-2147483648'])).toEqual([
      { key: 'bank_id', type: 'int32', value: '7' },
      { key: 'bank_id', type: 'int32', value: '-2147483648' },
    ]);
  });

  it('keeps different values of one key, and one value given for two keys', () => {
    expect(parseErasureKeys(registry, ['customer_id=7', 'customer_id=8', 'bank_id=7'])).toEqual([
      { key: 'customer_id', type: 'string', value: '7' },
      { key: 'customer_id', type: 'string', value: '8' },
      { key: 'bank_id', type: 'int32', value: '7' },
    ]);
  });
});

describe('entityKeyMatches', () => {
  it('matches an online item whose key parts hold any of the keys', () => {
    const keys = parseErasureKeys(registry, ['customer_id=C1', 'bank_id=7']);
    expect(entityKeyMatches({ customer_id: 'C2', bank_id: '7' }, keys)).toBe(true);
    expect(entityKeyMatches({ customer_id: 'C2', bank_id: '8' }, keys)).toBe(false);
    expect(entityKeyMatches({}, keys)).toBe(false);
  });
});

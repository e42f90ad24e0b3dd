import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import {
  affectedSources,
  hashedKey,
  type KeyColumn,
  keyColumnsOf,
  matchPredicate,
  parseErasureKeys,
} from '../../../lib/erasure/erasure-keys.ts';
import { parseItemKey } from '../../../lib/erasure/online-erasure.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const account = defineEntity({
  name: 'account',
  joinKeys: [
    { name: 'bank_id', type: 'int32' },
    { name: 'card', type: 'int64' },
  ],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const cards = defineSource({
  name: 'cards',
  schema: { bank_id: 'int32', card: 'int64', credit_limit: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const registry = compileRegistry(
  [
    defineFeatureView({
      name: 'last_order',
      entities: [customer],
      source: orders,
      features: { amount: 'float64' },
    }),
    defineFeatureView({
      name: 'card_limit',
      entities: [account],
      source: cards,
      features: { credit_limit: 'float64' },
    }),
  ].map((definition) => ({ definition })),
);

describe('parseErasureKeys', () => {
  it('types each value by its join key and counts a repeated argument once', () => {
    expect(
      parseErasureKeys(registry, ['customer_id=C1', 'card=9223372036854775807', 'customer_id=C1']),
    ).toEqual([
      { key: 'customer_id', type: 'string', value: 'C1' },
      { key: 'card', type: 'int64', value: '9223372036854775807' },
    ]);
  });

  it('refuses integers out of their range and text for an integer key, naming the argument', () => {
    expect(() => parseErasureKeys(registry, ['bank_id=2147483648'])).toThrow(
      '--entity #1 "bank_id=2147483648": bank_id is 2147483648, outside the int32 range',
    );
    expect(() => parseErasureKeys(registry, ['customer_id=C1', 'card=x1'])).toThrow(
      '--entity #2 "card=x1": card must be a whole number (int64), got "x1"',
    );
    expect(() => parseErasureKeys(registry, ['card=9223372036854775808'])).toThrow(
      'outside the int64 range',
    );
  });

  it('keeps a value with = in it whole (only the first = splits)', () => {
    expect(parseErasureKeys(registry, ['customer_id=a=b'])).toEqual([
      { key: 'customer_id', type: 'string', value: 'a=b' },
    ]);
  });
});

describe('matchPredicate', () => {
  const columns: KeyColumn[] = [
    { key: 'customer_id', column: 'customer_id', type: 'string' },
    { key: 'bank_id', column: 'bank', type: 'int64' },
    { key: 'card', column: 'card', type: 'int64' },
    { key: 'card', column: 'card_text', type: 'string' },
  ];

  it('quotes string values, writes integers bare, and ORs the key columns the file has', () => {
    const keys = parseErasureKeys(registry, ["customer_id=O'Hara", 'bank_id=7', 'card=1']);
    expect(matchPredicate(keys, columns, new Set(['customer_id', 'card', 'bank']))).toBe(
      `"customer_id" IN ('O''Hara') OR "bank" IN (7) OR "card" IN (1)`,
    );
    expect(matchPredicate(keys, columns, new Set(['amount']))).toBe('FALSE');
  });

  it('compares a column of another type than its key as text', () => {
    const keys = parseErasureKeys(registry, ['card=1']);
    expect(matchPredicate(keys, columns, new Set(['card_text']))).toBe(
      `CAST("card_text" AS VARCHAR) IN ('1')`,
    );
  });
});

describe('keyColumnsOf', () => {
  it('finds a key under its own name and under the column its raw name is mapped to', () => {
    const keys = parseErasureKeys(registry, ['customer_id=C1', 'card=1']);
    const visits = defineSource({
      name: 'visits',
      schema: { visitor: 'int64', customer_id: 'string', event_ts: 'timestamp' },
      fieldMapping: { customer_id: 'visitor', cid: 'customer_id' },
      timestampField: 'event_ts',
    });
    expect(keyColumnsOf(visits, keys)).toEqual([
      { key: 'customer_id', column: 'customer_id', type: 'string' },
      { key: 'customer_id', column: 'visitor', type: 'int64' },
    ]);
    expect(keyColumnsOf(orders, parseErasureKeys(registry, ['card=1']))).toEqual([]);
  });
});

describe('affectedSources and hashedKey', () => {
  it('names the sources having a key column, and hashes key=value, never showing the value', () => {
    const names = (entities: string[]) =>
      affectedSources(registry, parseErasureKeys(registry, entities)).map((s) => s.name);
    expect(names(['card=1'])).toEqual(['cards']);
    const [key] = parseErasureKeys(registry, ['customer_id=C1']);
    if (!key) throw new Error('no key');
    // echo -n customer_id=C1 | sha256sum
    expect(hashedKey(key)).toBe(
      'sha256:3e334fb0c9627c69689c06390a27984bd215cfc95149cb00d7a2c2e36dd738e7',
    );
    expect(hashedKey(key)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashedKey(key)).not.toContain('C1');
  });
});

describe('parseItemKey', () => {
  it('reads view and entity key parts, and skips materialization state items', () => {
    expect(parseItemKey('card_limit#abc123#bank_id=7|card=1')).toEqual({
      view: 'card_limit',
      parts: { bank_id: '7', card: '1' },
    });
    expect(parseItemKey('last_order#v1#customer_id=a%3Db')).toEqual({
      view: 'last_order',
      parts: { customer_id: 'a=b' },
    });
    expect(parseItemKey('~fstore#materialization#last_order#v1')).toBeUndefined();
  });

  it('reads a tile item’s entity without its suffix: raw minutes, tile blocks and the head item', () => {
    for (const suffix of ['|raw#28000000', '|tiles#60m#-1440', '|head'])
      expect(parseItemKey(`amount_sums#v1#customer_id=C1${suffix}`, { tile: true })).toEqual({
        view: 'amount_sums',
        parts: { customer_id: 'C1' },
      });
  });
});

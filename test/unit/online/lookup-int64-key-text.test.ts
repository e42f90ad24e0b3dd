import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { encodeEntityKey, partitionKey } from '../../../lib/online/entity-key.ts';
import { planLookup } from '../../../lib/online/lookup-plan.ts';
import { putCommand } from '../../../lib/online/online-writer.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';

const card = defineEntity({
  name: 'card',
  joinKeys: [
    { name: 'bank_id', type: 'int64' },
    { name: 'card_no', type: 'int64' },
  ],
});
const payments = defineSource({
  name: 'payments',
  schema: { bank_id: 'int64', card_no: 'int64', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});

// A fresh registry per test: plans are kept per registry.
const registry = () =>
  compileRegistry([
    {
      definition: defineFeatureView({
        name: 'last_payment',
        entities: [card],
        source: payments,
        features: { amount: 'float64' },
        online: true,
        schedule: 'rate(1 hour)',
      }),
    },
  ]);

/** The item key materialization writes for a row whose keys DuckDB read as BIGINT (bigint). */
function writtenKey(compiled: ReturnType<typeof registry>, bank: bigint, cardNo: bigint) {
  const [view] = compiled.featureViews;
  if (!view) throw new Error('no view');
  return partitionKey(
    view.onlineStore.keyPrefix,
    encodeEntityKey(view.joinKeys, { bank_id: bank, card_no: cardNo }),
  );
}

const keysOf = (compiled: ReturnType<typeof registry>, entities: Record<string, unknown>[]) =>
  planLookup(compiled, {
    views: [{ view: 'last_payment', features: [{ feature: 'amount', outputName: 'amount' }] }],
    entities,
  }).keys;

describe('the item key a lookup reads for int64 join keys sent as decimal text', () => {
  it('is the key materialization wrote for the same integers, exactly beyond 2^53', () => {
    const compiled = registry();
    expect(
      keysOf(compiled, [
        { bank_id: '9007199254740993', card_no: '-9223372036854775808' },
        { bank_id: 7, card_no: '9223372036854775807' },
        { bank_id: '007', card_no: 12 },
      ]),
    ).toEqual([
      writtenKey(compiled, 9007199254740993n, -(2n ** 63n)),
      writtenKey(compiled, 7n, 2n ** 63n - 1n),
      writtenKey(compiled, 7n, 12n),
    ]);
  });

  it('differs from the key of the neighbouring integer 2^53', () => {
    const compiled = registry();
    const [key] = keysOf(compiled, [{ bank_id: '9007199254740993', card_no: 1 }]);
    expect(key).not.toBe(writtenKey(compiled, 9007199254740992n, 1n));
  });

  it('still refuses text that is not a whole number', () => {
    expect(() => keysOf(registry(), [{ bank_id: '12.5', card_no: 1 }])).toThrow(
      'join key "bank_id" must be an integer (int64), got the string "12.5"',
    );
  });
});

describe('the item key materialization writes for int64 join keys', () => {
  // DuckDB's and Athena's JSON rows give a BIGINT beyond 2^53 as decimal text.
  it('is the same for decimal text as for the bigint, and the key a lookup reads', () => {
    const compiled = registry();
    const [view] = compiled.featureViews;
    if (!view) throw new Error('no view');
    const put = putCommand(
      'table',
      view,
      {
        values: { bank_id: '9007199254740993', card_no: '9223372036854775807', amount: 1.5 },
        eventTs: 1_000_000n,
      },
      0,
    );
    const written = put.input.Item?.pk?.S;
    expect(written).toBe(writtenKey(compiled, 9007199254740993n, 2n ** 63n - 1n));
    expect(
      keysOf(compiled, [{ bank_id: '9007199254740993', card_no: '9223372036854775807' }]),
    ).toEqual([written]);
  });
});

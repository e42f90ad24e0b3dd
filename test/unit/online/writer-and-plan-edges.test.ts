import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { EntityKeyError, encodeEntityKey } from '../../../lib/online/entity-key.ts';
import { toEpochMicros } from '../../../lib/online/item-codec.ts';
import { itemState, planLookup } from '../../../lib/online/lookup-plan.ts';
import {
  itemSizeBytes,
  maxItemBytes,
  OnlineItemTooLargeError,
  putCommand,
  writeOnlineRows,
} from '../../../lib/online/online-writer.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

const { registry, profile, lastOrder } = onlineRegistry();
const values = { customer_id: 'C1', plan: 'pro', charges: 1, tags: [] };

describe('itemSizeBytes of the set types', () => {
  it('counts each element of a string, number or binary set plus one byte', () => {
    expect(itemSizeBytes({ s: { SS: ['ab', 'é'] } })).toBe(1 + (1 + 2) + (1 + 2));
    // '12' is 1 significant byte pair (+2), '-1' one more for the sign.
    expect(itemSizeBytes({ n: { NS: ['12', '-1'] } })).toBe(1 + (1 + 3) + (1 + 4));
    expect(itemSizeBytes({ b: { BS: [new Uint8Array(5), new Uint8Array(2)] } })).toBe(
      1 + (1 + 5) + (1 + 2),
    );
    expect(itemSizeBytes({ x: {} as never })).toBe(1);
  });
});

describe('itemSizeBytes of numbers, lists, maps, booleans and nulls', () => {
  const numberBytes = (n: string) => itemSizeBytes({ n: { N: n } }) - 1;

  it('counts a number by its significant digits, two a byte, plus 2 and 1 for a minus sign', () => {
    expect(numberBytes('0')).toBe(1);
    expect(numberBytes('-0.000')).toBe(1);
    expect(numberBytes('7')).toBe(3);
    expect(numberBytes('123')).toBe(4);
    expect(numberBytes('1200')).toBe(3);
    expect(numberBytes('1002')).toBe(4);
    expect(itemSizeBytes({ b: { B: new Uint8Array(6) } })).toBe(7);
    expect(numberBytes('0.00123')).toBe(4);
    expect(numberBytes('-12.5')).toBe(5);
    expect(numberBytes('1.5e10')).toBe(3);
    expect(numberBytes('15E-300')).toBe(3);
  });

  it('counts 1 for a boolean or null, 3 plus 1 an element for a list, and a map its keys too', () => {
    expect(itemSizeBytes({ b: { BOOL: false } })).toBe(2);
    expect(itemSizeBytes({ z: { NULL: true } })).toBe(2);
    expect(itemSizeBytes({ l: { L: [{ S: 'ab' }, { N: '7' }] } })).toBe(1 + 3 + (1 + 2) + (1 + 3));
    expect(itemSizeBytes({ m: { M: { key: { S: 'ab' }, é: { BOOL: true } } } })).toBe(
      1 + 3 + (1 + 3 + 2) + (1 + 2 + 1),
    );
    expect(itemSizeBytes({ ab: { S: 'xyz' }, c: { N: '7' } })).toBe(2 + 3 + 1 + 3);
  });
});

describe('an online item over 400 KB', () => {
  it('is refused before any write, naming view, entity and size, with what to do', () => {
    const long = 'x'.repeat(maxItemBytes);
    let error: unknown;
    try {
      putCommand(
        't',
        profile,
        { values: { ...values, plan: long }, eventTs: '2024-04-01T00:00:00Z' },
        0,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OnlineItemTooLargeError);
    const { message, hint } = error as OnlineItemTooLargeError;
    expect(message).toMatch(
      /^profile\[customer_id=C1\]: the online item would be at least \d+ bytes, over DynamoDB's item size limit of 409600 bytes \(400 KB\)$/,
    );
    expect(hint).toBe(
      "shorten the view's list or string features, or split them into another view",
    );
  });

  it('refuses a sequence that is no integer, naming view, entity and field', () => {
    let error: unknown;
    try {
      putCommand('t', profile, { values, eventTs: '2024-04-01T00:00:00Z', seq: '1.5' }, 0);
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).toBe(
      'profile[customer_id=C1].fstore_seq is not an integer: 1.5',
    );
    expect((error as { hint?: string }).hint).toBe('report this as a bug');
  });
});

describe('the put of one row', () => {
  const eventTs = '2024-04-01T00:00:00Z';
  const refusal = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('stores no created time or sequence for null ones, as for missing ones', () => {
    const put = putCommand('t', profile, { values, eventTs, createdTs: null, seq: null }, 0).input;
    expect(put).toEqual(putCommand('t', profile, { values, eventTs }, 0).input);
    expect(put.Item?.created_ts).toBeUndefined();
    expect(put.Item?.fstore_seq).toBeUndefined();
  });

  it('names view, entity and field of a time or feature value it cannot store', () => {
    expect(refusal(() => putCommand('t', profile, { values, eventTs: 'soon' }, 0))).toBe(
      'profile[customer_id=C1].event_ts is not a timestamp: "soon"',
    );
    expect(
      refusal(() => putCommand('t', profile, { values, eventTs, createdTs: 'later' }, 0)),
    ).toBe('profile[customer_id=C1].created_ts is not a timestamp: "later"');
    expect(
      refusal(() => putCommand('t', profile, { values: { ...values, charges: 'x' }, eventTs }, 0)),
    ).toBe('profile[customer_id=C1].charges must be a finite number, got x');
  });

  it('sets no expiry for a view without TTL', () => {
    const put = putCommand(
      't',
      lastOrder,
      { values: { customer_id: 'C1', amount: 2 }, eventTs },
      0,
    );
    expect(put.input.Item?.expires_at).toBeUndefined();
  });

  it('records the definition and, on an incremental run, replaces another definition only for the very same row', () => {
    const row = { values, eventTs, createdTs: '2024-04-01T00:00:01Z', seq: 7 };
    const put = putCommand('t', profile, row, 0, 'abc').input;
    expect(put.Item?.fstore_def).toEqual({ S: 'abc' });
    expect(put.ExpressionAttributeValues?.[':d']).toEqual({ S: 'abc' });
    expect(put.ConditionExpression).toContain(
      ' OR (#e = :e AND #c = :c AND #s = :s AND attribute_not_exists(#d)) OR (#e = :e AND #c = :c AND #s = :s AND #d <> :d)',
    );
    expect(
      putCommand('t', profile, { values, eventTs }, 0, 'abc').input.ConditionExpression,
    ).toContain(
      ' OR (#e = :e AND attribute_not_exists(#c) AND attribute_not_exists(#s) AND attribute_not_exists(#d))',
    );
  });

  it('accepts an item of exactly 400 KB and refuses one byte more', () => {
    const sized = (length: number) =>
      putCommand('t', profile, { values: { ...values, plan: 'x'.repeat(length) }, eventTs }, 0);
    const base = itemSizeBytes(sized(0).input.Item ?? {});
    expect(itemSizeBytes(sized(maxItemBytes - base).input.Item ?? {})).toBe(maxItemBytes);
    expect(() => sized(maxItemBytes - base + 1)).toThrow(OnlineItemTooLargeError);
  });

  it('stores a sequence of several digits', () => {
    expect(
      putCommand('t', profile, { values, eventTs, seq: 1234 }, 0).input.Item?.fstore_seq,
    ).toEqual({
      N: '1234',
    });
  });

  it('is an incremental put unless told it is part of a full run', () => {
    expect(putCommand('t', profile, { values, eventTs }, 0, 'abc').input).toEqual(
      putCommand('t', profile, { values, eventTs }, 0, 'abc', false).input,
    );
    expect(putCommand('t', profile, { values, eventTs }, 0, 'abc').input).not.toEqual(
      putCommand('t', profile, { values, eventTs }, 0, 'abc', true).input,
    );
  });
});

describe('writeOnlineRows', () => {
  it('stamps every item with the injected clock and answers with the written and skipped counts', async () => {
    const sent: { Item?: Record<string, unknown> }[] = [];
    const client = {
      async send(command: { input: { Item?: Record<string, unknown> } }) {
        sent.push(command.input);
        if (sent.length === 2)
          throw new ConditionalCheckFailedException({ message: 'older', $metadata: {} });
        return {};
      },
    } as unknown as DynamoDBClient;
    const rows = ['C1', 'C2', 'C3'].map((id) => ({
      values: { ...values, customer_id: id },
      eventTs: '2024-04-01T00:00:00Z',
    }));
    expect(await writeOnlineRows(client, 't', profile, rows, { now: () => 1234 })).toEqual({
      written: 2,
      skippedAsOlder: 1,
    });
    expect(sent.map((input) => input.Item?.materialized_at)).toEqual([
      { N: '1234' },
      { N: '1234' },
      { N: '1234' },
    ]);
  });
});

describe('refusals and edges of a lookup plan', () => {
  const selection = { view: 'profile', features: [{ feature: 'plan', outputName: 'plan' }] };

  it('refuses a view that is not in the registry, a feature not in the view and an output name asked twice', () => {
    expect(() =>
      planLookup(registry, {
        entities: [{ customer_id: 'C1' }],
        views: [{ ...selection, view: 'nope' }],
      }),
    ).toThrow('internal: view nope is not in the registry');
    expect(() =>
      planLookup(registry, {
        entities: [{ customer_id: 'C1' }],
        views: [{ view: 'profile', features: [{ feature: 'nope', outputName: 'x' }] }],
      }),
    ).toThrow('internal: feature nope is not in view profile');
    expect(() =>
      planLookup(registry, {
        entities: [{ customer_id: 'C1' }],
        views: [
          selection,
          { view: 'last_order', features: [{ feature: 'amount', outputName: 'plan' }] },
        ],
      }),
    ).toThrow('internal: output name plan is requested twice');
  });

  it('reads an item without an event time as written at the epoch', () => {
    const { views } = planLookup(registry, {
      entities: [{ customer_id: 'C1' }],
      views: [selection],
    });
    const plan = views[0]?.plan;
    if (!plan) throw new Error('no plan');
    expect(itemState(plan, { pk: { S: 'x' } }, 0n)).toEqual({
      status: 'PRESENT',
      eventTimestamp: '1970-01-01T00:00:00.000000Z',
    });
  });
});

describe('numbers that are not whole', () => {
  it('are refused as integer join keys with the entity-key error, not a RangeError', () => {
    expect(() => encodeEntityKey([{ name: 'id', type: 'int64' }], { id: 1.5 })).toThrow(
      EntityKeyError,
    );
  });

  it('are rounded to whole milliseconds as timestamps', () => {
    expect(toEpochMicros(1_772_409_600_000.6, 'ts')).toBe(1_772_409_600_001_000n);
    expect(toEpochMicros(-1, 'ts')).toBe(-1000n);
  });

  it('are refused as timestamps when not finite, with an example of what to give', () => {
    let error: unknown;
    try {
      toEpochMicros(Number.POSITIVE_INFINITY, 'row.ts');
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).toBe('row.ts is not a timestamp: null');
    expect((error as { hint?: string }).hint).toBe('use ISO-8601, e.g. 2026-03-01T12:00:00Z');
  });
});

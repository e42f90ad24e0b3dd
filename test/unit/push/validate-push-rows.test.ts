import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../lib/api/api-error.ts';
import { epochMicrosOf } from '../../../lib/epoch-micros.ts';
import { pushSource } from '../../../lib/push/push-source.ts';
import { validatePushRows } from '../../../lib/push/validate-push-rows.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const registry = pushRegistry();
const now = '2026-03-01T12:00:00Z';
const rules = { nowMicros: epochMicrosOf(now), maxFutureSkewSeconds: 300 };
const t1 = '2026-03-01T11:00:00Z';

function rejection(rows: unknown[], source = 'payments'): ApiError {
  try {
    validatePushRows(registry, pushSource(registry, source), rows, rules);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('the rows were accepted');
}

describe('validatePushRows', () => {
  it('accepts good rows and gives their times in microseconds', () => {
    const rows = validatePushRows(
      registry,
      pushSource(registry, 'payments'),
      [
        paymentRow('2026-03-01T11:00:00.123456Z'),
        paymentRow(t1, { customer_id: 'C2', created_ts: null, amount: null }),
      ],
      rules,
    );
    expect(rows[0]?.eventTs).toBe(epochMicrosOf('2026-03-01T11:00:00.123456Z'));
    expect(rows[0]?.createdTs).toBe(epochMicrosOf('2026-03-01T11:00:00.123456Z'));
    expect(rows[1]).not.toHaveProperty('createdTs');
    expect(rows.map((r) => r.index)).toEqual([0, 1]);
  });

  it('turns an int64 sent as a decimal string into a bigint, beyond 2^53 too', () => {
    const [row] = validatePushRows(
      registry,
      pushSource(registry, 'payments'),
      [paymentRow(t1, { account_id: '9007199254740993' })],
      rules,
    );
    expect(row?.values.account_id).toBe(9007199254740993n);
  });

  it.each([
    ['not an object', ['x'], undefined, 'must be an object'],
    ['an unknown column', [paymentRow(t1, { amout: 1 })], 'amout', 'did you mean "amount"'],
    ['a missing value column', [omit(paymentRow(t1), 'flagged')], 'flagged', 'send null'],
    [
      'a missing join key',
      [omit(paymentRow(t1), 'customer_id')],
      'customer_id',
      'join key is required',
    ],
    [
      'a null join key',
      [paymentRow(t1, { account_id: null })],
      'account_id',
      'join key is required',
    ],
    ['an empty string join key', [paymentRow(t1, { customer_id: '' })], 'customer_id', 'is empty'],
    [
      'a missing event time',
      [omit(paymentRow(t1), 'event_ts')],
      'event_ts',
      'event timestamp is required',
    ],
    [
      'a null event time',
      [paymentRow(t1, { event_ts: null })],
      'event_ts',
      'event timestamp is required',
    ],
    [
      'an event time that is not ISO',
      [paymentRow(t1, { event_ts: 1_700_000_000 })],
      'event_ts',
      'ISO-8601',
    ],
    [
      'a bad created time',
      [paymentRow(t1, { created_ts: '2026-02-30' })],
      'created_ts',
      'ISO-8601',
    ],
    ['a string for a number', [paymentRow(t1, { amount: '12' })], 'amount', 'must be a number'],
    [
      'Infinity (1e999 in JSON)',
      [paymentRow(t1, { amount: JSON.parse('1e999') })],
      'amount',
      'finite',
    ],
    ['NaN', [paymentRow(t1, { amount: Number.NaN })], 'amount', 'finite'],
    [
      'NaN inside a list',
      [paymentRow(t1, { scores: [1, Number.NaN] })],
      'scores',
      '[1] must be a finite',
    ],
    ['a float32 out of range', [paymentRow(t1, { scores: [1e39] })], 'scores', 'float32 range'],
    [
      'an unsafe int64 number',
      [paymentRow(t1, { account_id: 2 ** 60 })],
      'account_id',
      'decimal string',
    ],
    [
      'an int64 string out of range',
      [paymentRow(t1, { account_id: '9223372036854775808' })],
      'account_id',
      'int64 range',
    ],
    ['a fractional int64', [paymentRow(t1, { account_id: 1.5 })], 'account_id', 'must be an int64'],
    ['a number for a bool', [paymentRow(t1, { flagged: 1 })], 'flagged', 'true or false'],
    ['a scalar for a list', [paymentRow(t1, { scores: 1 })], 'scores', 'must be a list'],
    [
      'an event time past the skew',
      [paymentRow('2026-03-01T12:05:00.000001Z')],
      'event_ts',
      'more than 300 s',
    ],
    [
      'a created time past the skew (far future)',
      [paymentRow(t1, { created_ts: '2999-01-01T00:00:00Z' })],
      'created_ts',
      'created times must not be in the future',
    ],
    [
      'a created time past year 9999',
      [paymentRow(t1, { created_ts: '+20000-01-01T00:00:00Z' })],
      'created_ts',
      'outside years 0001 to 9999',
    ],
    [
      'an event time before year 0001',
      [paymentRow('-0001-12-31T00:00:00Z', { created_ts: null })],
      'event_ts',
      'outside years 0001 to 9999',
    ],
    [
      'a float64 below the smallest magnitude DynamoDB holds',
      [paymentRow(t1, { amount: 1e-131 })],
      'amount',
      'magnitude from 1e-130',
    ],
    [
      'a float64 at 1e126, past the largest DynamoDB number',
      [paymentRow(t1, { amount: 1e126 })],
      'amount',
      'can hold',
    ],
    [
      'a join key whose partition key would pass 2048 bytes',
      [paymentRow(t1, { customer_id: 'x'.repeat(2_040) })],
      'customer_id',
      'DynamoDB allows 2048 (view "last_payment")',
    ],
    [
      'a lone UTF-16 surrogate in a string (JSON "\\ud800")',
      [paymentRow(t1, { status: JSON.parse('"\\ud800"') })],
      'status',
      'lone UTF-16 surrogate',
    ],
    [
      'a value below a view minimum',
      [paymentRow(t1, { amount: -1 })],
      'amount',
      'below min 0 (view "last_payment")',
    ],
    ['a value outside allowedValues', [paymentRow(t1, { status: 'lost' })], 'status', 'not one of'],
    [
      'a null in a not-nullable feature of an offline view',
      [paymentRow(t1, { status: null })],
      'status',
      'not nullable (view "payment_audit")',
    ],
  ])('rejects %s with its row index, field and reason', (_, rows, field, reason) => {
    const good = paymentRow('2026-03-01T10:00:00Z', { customer_id: 'C0' });
    const error = rejection([good, ...rows]);
    expect(error.status).toBe(400);
    expect(error.code).toBe('INVALID_ROW');
    expect(error.details).toMatchObject({ row: 1, ...(field ? { field } : {}) });
    expect(error.details.path).toBe(field ? `$.rows[1].${field}` : '$.rows[1]');
    expect(error.message).toContain(reason);
  });

  it('accepts an event time exactly at the allowed skew', () => {
    expect(
      validatePushRows(
        registry,
        pushSource(registry, 'payments'),
        [paymentRow('2026-03-01T12:05:00Z')],
        rules,
      ),
    ).toHaveLength(1);
  });

  it('rejects two rows of one entity with the same event and created times, naming both', () => {
    const error = rejection([
      paymentRow(t1),
      paymentRow(t1, { customer_id: 'C2' }),
      paymentRow('2026-03-01T11:00:00.000000+00:00', { amount: 3 }),
    ]);
    expect(error).toMatchObject({ status: 400, code: 'DUPLICATE_ROW' });
    expect(error.details).toMatchObject({ row: 2, duplicateOf: 0 });
  });

  it('accepts rows of one entity that differ in created time', () => {
    const rows = [paymentRow(t1), paymentRow(t1, { created_ts: '2026-03-01T11:00:01Z' })];
    expect(validatePushRows(registry, pushSource(registry, 'payments'), rows, rules)).toHaveLength(
      2,
    );
  });

  it('answers 404 UNKNOWN_SOURCE with the known sources for a source that does not exist', () => {
    expect(() => pushSource(registry, 'paymnets')).toThrow(
      expect.objectContaining({
        status: 404,
        code: 'UNKNOWN_SOURCE',
        message: expect.stringContaining('did you mean "payments"'),
        details: expect.objectContaining({ known: ['audit', 'payments'] }),
      }),
    );
  });
});

function omit(row: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = row;
  return rest;
}

import { describe, expect, it } from 'vitest';
import { putCommand } from '../../../lib/online/online-writer.ts';
import { onlineRegistry } from '../../helpers/online-registry.ts';

describe('online item timestamps', () => {
  const { profile } = onlineRegistry();
  const item = (eventTs: string) =>
    putCommand(
      'table',
      profile,
      { values: { customer_id: 'C1', plan: 'pro', charges: 1, tags: [] }, eventTs },
      0,
    ).input.Item;

  it('stores event_ts in microseconds, keeping what lies below the millisecond', () => {
    expect(item('2024-04-01T00:00:00.000700Z')?.event_ts).toEqual({ N: '1711929600000700' });
  });

  it('rounds the DynamoDB expiry up to the next whole second, never before the TTL ends', () => {
    const day = 86_400;
    expect(item('2024-04-01T00:00:00.000700Z')?.expires_at).toEqual({
      N: String(1_711_929_601 + day),
    });
    expect(item('2024-04-01T00:00:00Z')?.expires_at).toEqual({ N: String(1_711_929_600 + day) });
  });
});

describe('the conditional put under a definition fingerprint', () => {
  const { profile } = onlineRegistry();
  const values = { customer_id: 'C1', plan: 'pro', charges: 1, tags: [] };
  const rows = [
    { values, eventTs: '2024-04-01T00:00:00Z' },
    { values, eventTs: '2024-04-01T00:00:00Z', createdTs: '2024-04-01T00:00:01Z' },
    { values, eventTs: '2024-04-01T00:00:00Z', seq: 7 },
    { values, eventTs: '2024-04-01T00:00:00Z', createdTs: '2024-04-01T00:00:01Z', seq: 7 },
  ];

  // DynamoDB refuses a request naming an attribute or value its expression does not use.
  it.each([false, true])('uses every name and value it declares (full run: %s)', (fullRun) => {
    for (const row of rows) {
      const { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } =
        putCommand('table', profile, row, 0, 'abc', fullRun).input;
      const used = new Set(ConditionExpression?.match(/[#:]\w+/g));
      expect([...used].sort()).toEqual(
        [
          ...Object.keys(ExpressionAttributeNames ?? {}),
          ...Object.keys(ExpressionAttributeValues ?? {}),
        ].sort(),
      );
    }
  });

  it('replaces another definition only when the item holds the same row, unless the run is full', () => {
    const condition = (fullRun: boolean) =>
      putCommand('table', profile, rows[0] as (typeof rows)[0], 0, 'abc', fullRun).input
        .ConditionExpression;
    expect(condition(false)).toContain('AND attribute_not_exists(#d)');
    expect(condition(true)).toMatch(/ OR attribute_not_exists\(#d\) OR #d <> :d$/);
  });
});

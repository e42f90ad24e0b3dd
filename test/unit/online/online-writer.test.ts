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

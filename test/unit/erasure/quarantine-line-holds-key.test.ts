import { describe, expect, it } from 'vitest';
import type { ErasureKey } from '../../../lib/erasure/erasure-keys.ts';
import { quarantineLineHoldsKey } from '../../../lib/erasure/quarantine-erasure.ts';

const c1: ErasureKey[] = [{ key: 'customer_id', type: 'string', value: 'C1' }];
const line = (value: unknown) => JSON.stringify(value);

describe('quarantineLineHoldsKey (which quarantined lines fstore delete removes)', () => {
  it('finds the key in a materialization row', () => {
    expect(quarantineLineHoldsKey(line({ view: 'v', row: { customer_id: 'C1' } }), c1)).toBe(true);
    expect(quarantineLineHoldsKey(line({ view: 'v', row: { customer_id: 'C10' } }), c1)).toBe(
      false,
    );
  });

  it('finds the key in a stream record refused before it became a row (row.data as sent)', () => {
    const refused = { reasons: ['amount: must be a number'], row: { kinesis: {}, data: {} } };
    refused.row.data = { customer_id: 'C1', amount: 'x' };
    expect(quarantineLineHoldsKey(line(refused), c1)).toBe(true);
    refused.row.data = { customer_id: 'C2' };
    expect(quarantineLineHoldsKey(line(refused), c1)).toBe(false);
  });

  it('matches a stream record kept as text (not JSON), and a damaged line, by the value’s text', () => {
    expect(quarantineLineHoldsKey(line({ row: { data: '{"customer_id":"C1",' } }), c1)).toBe(true);
    expect(quarantineLineHoldsKey('{"row":{"customer_id":"C1"', c1)).toBe(true);
  });
});

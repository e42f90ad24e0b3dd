import { describe, expect, it } from 'vitest';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import { keysAfter } from '../../../lib/sql/render-latest.ts';

const duckdb = duckdbDialect('/data/offline');
const storeId = [{ name: 'store_id', type: 'int64' }] as const;

describe('an integer resume key', () => {
  it('accepts integers of many digits, negative ones and those past 2^53 given as text', () => {
    expect(keysAfter(storeId, [10], duckdb)).toBe('(("store_id" > 10))');
    expect(keysAfter(storeId, [-123], duckdb)).toBe('(("store_id" > -123))');
    expect(keysAfter(storeId, ['9007199254740993'], duckdb)).toBe(
      '(("store_id" > 9007199254740993))',
    );
  });
});

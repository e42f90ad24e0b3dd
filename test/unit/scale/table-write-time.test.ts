import { describe, expect, it } from 'vitest';
import { newOnDemandTable } from '../../../lib/scale/aws-prices.ts';
import { tableWriteTime } from '../../../lib/scale/table-write-time.ts';

describe('tableWriteTime', () => {
  it('writes at the writers’ pace when the table is warm enough', () => {
    const time = tableWriteTime(1_000_000, 2000, newOnDemandTable);
    expect(time.seconds).toBe(500);
    expect(time.throttledSeconds).toBe(0);
    expect(time.peakWriteUnits).toBe(2000);
  });

  it('lets a new table reach twice its peak only after each half hour at that peak', () => {
    // 30 min at 4,000 units/s, then 30 min at 8,000.
    const time = tableWriteTime(4000 * 1800 + 8000 * 1800, 40_000, newOnDemandTable);
    expect(time.seconds).toBeCloseTo(3600, 6);
    expect(time.peakWriteUnits).toBe(8000);
    expect(time.throttledSeconds).toBeCloseTo(3600, 6);
  });

  it('never goes past the table quota, however long the run', () => {
    const time = tableWriteTime(1e10, 1e6, newOnDemandTable);
    expect(time.peakWriteUnits).toBe(newOnDemandTable.tableQuotaWriteUnits);
  });

  it('starts at the quota when the table is warmed past it', () => {
    const time = tableWriteTime(80_000, 1e6, { ...newOnDemandTable, warmWriteUnits: 1e6 });
    expect(time.seconds).toBe(2);
  });

  it('takes no time for nothing to write', () => {
    expect(tableWriteTime(0, 1000, newOnDemandTable).seconds).toBe(0);
  });

  it('refuses a demand that is not above 0 and a negative amount', () => {
    expect(() => tableWriteTime(10, 0, newOnDemandTable)).toThrow(/demandWriteUnits/);
    expect(() => tableWriteTime(-1, 10, newOnDemandTable)).toThrow(/writeUnits/);
    expect(() => tableWriteTime(Number.NaN, 10, newOnDemandTable)).toThrow(/writeUnits/);
  });
});

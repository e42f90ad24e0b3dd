import { describe, expect, it } from 'vitest';
import { epochDayOfPartition, partitionOfPath } from '../../../lib/offline/dt-partition.ts';

describe('the dt partition of a data file path or object key', () => {
  it.each([
    ['dt=2026-03-06/20260306t120000-0a1b2c3d-0.parquet', '2026-03-06'],
    ['/s/offline/orders/dt=2026-03-06/x-0.parquet', '2026-03-06'],
    ['offline/orders/dt=2024-02-29/x-0.parquet', '2024-02-29'],
    ['orders/dt=2000-02-29/x-0.parquet', '2000-02-29'],
    ['orders/dt=1970-01-01/x-0.parquet', '1970-01-01'],
    ['orders/dt=2026-12-31/x-0.parquet', '2026-12-31'],
    // A `\` is part of a name on S3 and on POSIX file systems, not a separator.
    ['offline/orders/dt=2026-03-06/x\\y.parquet', '2026-03-06'],
    ['/s/my\\store/offline/orders/dt=2026-03-06/x-0.parquet', '2026-03-06'],
    // A dt= higher up is no partition of this file, but the one holding it counts.
    ['/data/dt=2020-01-01/offline/orders/dt=2026-03-06/x-0.parquet', '2026-03-06'],
  ])('reads %s as partition %s', (file, dt) => {
    expect(partitionOfPath(file)).toBe(dt);
  });

  it.each([
    ['a day that is not in the calendar', 'orders/dt=2024-02-30/x.parquet'],
    ['29 February of a year that is not a leap year', 'orders/dt=2023-02-29/x.parquet'],
    ['29 February of a century that is not a leap year', 'orders/dt=1900-02-29/x.parquet'],
    ['31 April', 'orders/dt=2026-04-31/x.parquet'],
    ['month 13', 'orders/dt=2026-13-01/x.parquet'],
    ['month 0', 'orders/dt=2026-00-10/x.parquet'],
    ['day 0', 'orders/dt=2026-01-00/x.parquet'],
    ['digits not zero-padded', 'orders/dt=2026-3-1/x.parquet'],
    ['a dt= folder above the one holding the file', 'orders/dt=2026-03-06/sub/x.parquet'],
    ['a dt= only in a parent of the source', '/data/dt=2026-03-06/offline/orders/x.parquet'],
    ['no folder', 'x.parquet'],
    ['a folder that is not a partition', 'orders/manual/x.parquet'],
    ['the partition folder itself', 'orders/dt=2026-03-06'],
    ['an S3 folder marker', 'orders/dt=2026-03-06/'],
    ['dt= inside a longer folder name', 'orders/xdt=2026-03-01/x.parquet'],
    ['text after the day', 'orders/dt=2026-03-01x/x.parquet'],
    ['an upper-case key (Athena reads dt= only)', 'orders/DT=2026-03-01/x.parquet'],
    ['a URL-encoded = (keys are given as stored)', 'offline/orders/dt%3D2026-03-06/x.parquet'],
    ['a URL-encoded separator', 'offline/orders/dt=2026-03-06%2Fx.parquet'],
    ['an empty path', ''],
    ['a time after the day', 'orders/dt=2026-03-01T00:00:00Z/x.parquet'],
    // On S3 the object is offline/orders/<name>, outside every partition prefix Athena reads.
    ['a partition-like name after a backslash', 'offline/orders/dt=2026-03-06\\x.parquet'],
    ['a folder whose name holds a backslash before dt=', 'offline/orders\\dt=2026-03-06/x.parquet'],
    ['a Windows path (not a target)', 'C:\\store\\offline\\orders\\dt=2026-03-06\\x-0.parquet'],
  ])('finds no partition in %s', (_why, file) => {
    expect(partitionOfPath(file)).toBeUndefined();
  });
});

describe('the day number of a partition', () => {
  it('counts days since 1970-01-01 (UTC), four-digit years as they are', () => {
    expect(epochDayOfPartition('1970-01-01')).toBe(0);
    expect(epochDayOfPartition('1970-01-02')).toBe(1);
    expect(epochDayOfPartition('2026-03-01')).toBe(Date.UTC(2026, 2, 1) / 86_400_000);
    expect(epochDayOfPartition('1969-12-31')).toBe(-1);
    // Date.UTC would read year 50 as 1950.
    expect(epochDayOfPartition('0050-01-01')).toBe(Date.parse('0050-01-01T00:00:00Z') / 86_400_000);
  });

  it('refuses text that is not a calendar day, naming it', () => {
    expect(() => epochDayOfPartition('2024-02-30')).toThrow(
      'partition day "2024-02-30" is not a calendar day (YYYY-MM-DD)',
    );
    expect(() => epochDayOfPartition('dt=2024-02-01')).toThrow('"dt=2024-02-01"');
    // What the timestamp parser takes but no partition holds: a time, a sign, a longer year.
    for (const text of ['2024-02-01T00:00:00Z', '+2024-02-01', '02024-02-01', '2024-02-01 '])
      expect(() => epochDayOfPartition(text), text).toThrow('is not a calendar day');
  });
});

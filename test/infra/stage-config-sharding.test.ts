import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';

describe('stage config: sharded materialization on AWS', () => {
  it('is off by default, with 20 shards, 20 writers at once and a 1,000,000-row threshold once a view is named', () => {
    expect(resolveStageConfig('prod').materialization.sharding).toEqual({
      views: [],
      shards: 20,
      maxConcurrency: 20,
      minRows: 1_000_000,
      unloadExpirationDays: 7,
    });
    const on = resolveStageConfig('prod', {
      materialization: { sharding: { views: ['customer_profile'], maxConcurrency: 8 } },
    }).materialization;
    expect(on.sharding).toEqual({
      views: ['customer_profile'],
      shards: 20,
      maxConcurrency: 8,
      minRows: 1_000_000,
      unloadExpirationDays: 7,
    });
    expect(on.retryAttempts).toBe(2);
  });

  it.each([
    [{ shards: 1 }, 'shards'],
    [{ shards: 65 }, 'shards'],
    [{ maxConcurrency: 0 }, 'maxConcurrency'],
    [{ minRows: -1 }, 'minRows'],
    [{ unloadExpirationDays: 0 }, 'must be at least 1 day (an execution can last 6 hours)'],
    [{ unloadExpirationDays: 1.5 }, 'unloadExpirationDays'],
    [{ warmWriteUnitsPerSecond: 3999 }, 'must be at least 4000'],
    [{ warmWriteUnitsPerSecond: '40000' }, 'warmWriteUnitsPerSecond'],
    [{ views: ['Customer Profile'] }, 'must be a feature view name'],
    [{ view: ['profile'] }, 'view'],
  ])('refuses %j, naming the field', (sharding, message) => {
    expect(() => resolveStageConfig('dev', { materialization: { sharding } } as never)).toThrow(
      message,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { newOnDemandTable, usEast1Prices } from '../../../lib/scale/aws-prices.ts';
import { estimateLookups } from '../../../lib/scale/lookup-model.ts';
import { estimateRun, shardCount } from '../../../lib/scale/materialization-model.ts';
import {
  defaultLookupSetup,
  defaultRunSetup,
  defaultWorkload,
} from '../../../lib/scale/model-defaults.ts';

const warmed = { ...newOnDemandTable, warmWriteUnits: newOnDemandTable.tableQuotaWriteUnits };

function run(entities: number, overrides: Partial<typeof defaultWorkload> = {}, table = warmed) {
  return estimateRun(
    'full',
    { ...defaultWorkload, ...overrides, entities },
    defaultRunSetup,
    table,
    usEast1Prices,
  );
}

describe('estimateRun', () => {
  it('writes one item per entity and view, and pays a write unit per started KB of each', () => {
    const small = run(2_000_000, { views: 3, itemBytes: 1024 });
    expect(small.items).toBe(6_000_000);
    expect(small.writeUnits).toBe(6_000_000);
    const large = run(2_000_000, { views: 3, itemBytes: 1025 });
    expect(large.writeUnits).toBe(12_000_000);
    expect(large.dollars.dynamodb).toBeCloseTo(2 * small.dollars.dynamodb, 9);
  });

  it('keeps a run under the shard threshold on one writer with no state machine', () => {
    const estimate = run(defaultRunSetup.shardThresholdItems - 1);
    expect(estimate.sharded).toBe(false);
    expect(estimate.shards).toBe(1);
    expect(estimate.dollars.stepFunctions).toBe(0);
  });

  it('sizes shards so that each fits a writer’s budget', () => {
    for (const entities of [1e6, 3e7, 1e8, 1e9]) {
      const estimate = run(entities);
      expect(estimate.items / estimate.shards).toBeLessThanOrEqual(
        defaultRunSetup.writerRowsPerSecond * defaultRunSetup.shardBudgetSeconds,
      );
      expect(estimate.writers).toBeLessThanOrEqual(defaultRunSetup.maxConcurrency);
    }
  });

  it('spreads a run over the writers allowed while shards keep their minimum size', () => {
    expect(shardCount(1_000_000, defaultRunSetup)).toBe(10);
    expect(shardCount(100_000_000, defaultRunSetup)).toBe(60);
    expect(shardCount(50_000, defaultRunSetup)).toBe(1);
  });

  it('materializes 100M entities in under an hour on a table warmed to the quota, not on a new one', () => {
    expect(run(1e8).seconds.total).toBeLessThan(3600);
    const cold = run(1e8, {}, newOnDemandTable);
    expect(cold.seconds.total).toBeGreaterThan(3600);
    expect(cold.throttledSeconds).toBeGreaterThan(0);
  });

  it('scans only the changed entities’ new rows in an incremental run, billed at Athena’s minimum', () => {
    const incremental = estimateRun(
      'incremental',
      { ...defaultWorkload, entities: 1000, changedShare: 0.5 },
      defaultRunSetup,
      warmed,
      usEast1Prices,
    );
    expect(incremental.items).toBe(500);
    expect(incremental.scannedBytes).toBe(500 * defaultWorkload.bytesPerSourceRow);
    expect(incremental.dollars.athena).toBeCloseTo(
      usEast1Prices.athenaMinimumBytes * usEast1Prices.athenaScannedByte,
      12,
    );
  });

  it('bills the writers while they wait on a throttled table', () => {
    const warm = run(1e8);
    const cold = run(1e8, {}, newOnDemandTable);
    expect(cold.dollars.lambda).toBeGreaterThan(warm.dollars.lambda);
    expect(cold.dollars.dynamodb).toBe(warm.dollars.dynamodb);
  });

  it("names Athena's query timeout when the UNLOAD would scan for longer, and only then", () => {
    expect(run(1e9).limitsExceeded).toEqual([
      expect.stringMatching(/past Athena's 1800 s query timeout/),
    ]);
    expect(run(1e8).limitsExceeded).toEqual([]);
  });

  it('adds up its parts to the total', () => {
    const { dollars } = run(1e7);
    const parts =
      dollars.dynamodb + dollars.lambda + dollars.athena + dollars.stepFunctions + dollars.s3;
    expect(dollars.total).toBeCloseTo(parts, 12);
  });
});

describe('estimateLookups', () => {
  it('pays half a read unit per started 4 KB of each item read', () => {
    const small = estimateLookups(1e6, { ...defaultLookupSetup, itemBytes: 4096 }, usEast1Prices);
    const large = estimateLookups(1e6, { ...defaultLookupSetup, itemBytes: 4097 }, usEast1Prices);
    expect(small.dynamodb).toBeCloseTo(
      1e6 * defaultLookupSetup.itemsPerLookup * 0.5 * usEast1Prices.dynamoReadUnit,
      12,
    );
    expect(large.dynamodb).toBeCloseTo(2 * small.dynamodb, 12);
    expect(small.total).toBeCloseTo(small.apiGateway + small.lambda + small.dynamodb, 12);
  });
});

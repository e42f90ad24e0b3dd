import type { LookupSetup } from './lookup-model.ts';
import type { RunSetup, Workload } from './materialization-model.ts';

/** The example the docs tabulate: a churn-like view, one item of ~300 bytes per entity. */
export const defaultWorkload: Omit<Workload, 'entities'> = {
  views: 1,
  itemBytes: 300,
  sourceRowsPerEntity: 30,
  bytesPerSourceRow: 40,
  changedShare: 0.01,
};

export const defaultRunSetup: RunSetup = {
  // bench:materialize: 2,025 rows/s for one writer (16 conditional puts in flight, local server).
  writerRowsPerSecond: 2000,
  // 20 writers × 2,000 rows/s = 40,000 write units a second, DynamoDB's default table quota.
  maxConcurrency: 20,
  shardBudgetSeconds: 840,
  minShardItems: 100_000,
  // The materializer function's memorySize (lib/constructs/materialization.ts).
  writerMemoryGb: 1,
  shardThresholdItems: 1_000_000,
  athenaBytesPerSecond: 512 * 1024 ** 2,
  athenaOverheadSeconds: 15,
  athenaTimeoutSeconds: 1800,
  startSeconds: 10,
  transitionsPerShard: 5,
};

export const defaultLookupSetup: LookupSetup = {
  itemsPerLookup: 3,
  itemBytes: 300,
  billedMilliseconds: 10,
  // The lookup function's memorySize (lib/constructs/serving-api.ts).
  memoryGb: 0.5,
};

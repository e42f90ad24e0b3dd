import type { AwsPrices, DynamoWriteLimits } from './aws-prices.ts';
import { tableWriteTime } from './table-write-time.ts';

/** What a materialization run writes and reads; every field is a parameter of the model. */
export interface Workload {
  /** Entities of each online view (one item per entity and view). */
  readonly entities: number;
  readonly views: number;
  /** Average online item size in bytes (keys, features, timestamps, attribute names). */
  readonly itemBytes: number;
  /** Offline rows per entity a full run scans, and their Parquet bytes (only the columns read). */
  readonly sourceRowsPerEntity: number;
  readonly bytesPerSourceRow: number;
  /** Share of entities with new rows between two scheduled runs (an incremental run). */
  readonly changedShare: number;
}

/** How the sharded run is set up on AWS (issue 21's design; stage settings when built). */
export interface RunSetup {
  /** Rows one writer Lambda puts a second (conditional PutItem, `writeConcurrency` in flight). */
  readonly writerRowsPerSecond: number;
  /** Writers running at once (the Distributed Map's maximum concurrency). */
  readonly maxConcurrency: number;
  /** Seconds of writing one shard is sized for, under Lambda's 900 s limit. */
  readonly shardBudgetSeconds: number;
  /** Fewest items worth a shard of their own (a writer's start costs seconds). */
  readonly minShardItems: number;
  readonly writerMemoryGb: number;
  /** Below this many items a run keeps today's single-Lambda path (no Step Functions). */
  readonly shardThresholdItems: number;
  /** Bytes Athena scans a second for the UNLOAD, and its queueing and planning time. */
  readonly athenaBytesPerSecond: number;
  readonly athenaOverheadSeconds: number;
  /** Athena's DML query timeout quota (30 minutes by default, adjustable). */
  readonly athenaTimeoutSeconds: number;
  /** Start of the state machine and the writers' cold starts. */
  readonly startSeconds: number;
  /** State transitions per shard (map iteration, task, retry check, result). */
  readonly transitionsPerShard: number;
}

export interface RunEstimate {
  readonly items: number;
  readonly writeUnits: number;
  readonly shards: number;
  readonly writers: number;
  readonly sharded: boolean;
  readonly scannedBytes: number;
  readonly seconds: { readonly athena: number; readonly write: number; readonly total: number };
  /** Seconds the writers wanted more write units than the table gave. */
  readonly throttledSeconds: number;
  readonly peakWriteUnits: number;
  /** AWS limits this run would break at these settings, each with what to change. */
  readonly limitsExceeded: readonly string[];
  readonly dollars: {
    readonly dynamodb: number;
    readonly lambda: number;
    readonly athena: number;
    readonly stepFunctions: number;
    readonly s3: number;
    readonly total: number;
  };
}

export type RunKind = 'full' | 'incremental';

/**
 * Wall time and list-price cost of one materialization run of `workload`: one Athena UNLOAD
 * of the newest row per entity, partitioned by shard (one scan, whatever the shard count), then
 * the shards' writers in parallel against the online table, bounded by the writers and by the
 * table's write limits. A full run writes every entity; an incremental run the changed ones,
 * scanning only their new rows. Assumptions are in docs/scale.md.
 */
export function estimateRun(
  kind: RunKind,
  workload: Workload,
  setup: RunSetup,
  table: DynamoWriteLimits,
  prices: AwsPrices,
): RunEstimate {
  const share = kind === 'full' ? 1 : workload.changedShare;
  const items = Math.ceil(workload.entities * share) * workload.views;
  const unitsPerItem = Math.max(1, Math.ceil(workload.itemBytes / 1024));
  const writeUnits = items * unitsPerItem;
  const rowsScanned =
    kind === 'full' ? workload.entities * workload.sourceRowsPerEntity * workload.views : items;
  const scannedBytes = rowsScanned * workload.bytesPerSourceRow;
  const sharded = items >= setup.shardThresholdItems;
  const shards = sharded ? shardCount(items, setup) : 1;
  const writers = Math.min(shards, setup.maxConcurrency);
  const demand = writers * setup.writerRowsPerSecond * unitsPerItem;
  const writing = items > 0 ? tableWriteTime(writeUnits, demand, table) : undefined;
  const athenaSeconds = setup.athenaOverheadSeconds + scannedBytes / setup.athenaBytesPerSecond;
  const writeSeconds = writing?.seconds ?? 0;
  const startSeconds = sharded ? setup.startSeconds : 0;

  const billedScan = Math.max(scannedBytes, prices.athenaMinimumBytes);
  // The writers are billed while they wait on a throttled table, and the run's driver while
  // Athena scans.
  const lambdaGbSeconds =
    (writers * writeSeconds + athenaSeconds + startSeconds) * setup.writerMemoryGb;
  const continuations = Math.ceil(writeSeconds / setup.shardBudgetSeconds);
  const dollars = {
    dynamodb: writeUnits * prices.dynamoWriteUnit,
    lambda:
      lambdaGbSeconds * prices.lambdaArmGbSecond +
      (1 + writers * continuations) * prices.lambdaRequest,
    athena: billedScan * prices.athenaScannedByte,
    stepFunctions: sharded
      ? (shards * setup.transitionsPerShard + 10) * prices.stepFunctionsTransition
      : 0,
    s3: shards * (prices.s3Put + prices.s3Get),
  };
  return {
    items,
    writeUnits,
    shards,
    writers,
    sharded,
    scannedBytes,
    seconds: {
      athena: athenaSeconds,
      write: writeSeconds,
      total: startSeconds + athenaSeconds + writeSeconds,
    },
    throttledSeconds: writing?.throttledSeconds ?? 0,
    peakWriteUnits: writing?.peakWriteUnits ?? 0,
    limitsExceeded:
      athenaSeconds > setup.athenaTimeoutSeconds
        ? [
            `the UNLOAD scans for ${Math.round(athenaSeconds)} s, past Athena's ${setup.athenaTimeoutSeconds} s query timeout: raise the DML timeout quota or UNLOAD each shard's key range in its own query`,
          ]
        : [],
    dollars: { ...dollars, total: Object.values(dollars).reduce((a, b) => a + b, 0) },
  };
}

/**
 * Enough shards that each fits one writer's budget, and at least one per writer the concurrency
 * allows while each still holds `minShardItems`.
 */
export function shardCount(items: number, setup: RunSetup): number {
  const byBudget = Math.ceil(items / (setup.writerRowsPerSecond * setup.shardBudgetSeconds));
  const bySpread = Math.min(setup.maxConcurrency, Math.floor(items / setup.minShardItems));
  return Math.max(1, byBudget, bySpread);
}

/**
 * The errors of a sharded run's shard writer that a retry cannot mend: the map item or the run
 * is wrong, or what it reads is, not the moment. Step Functions matches a Lambda error by its
 * `name` (the error type the Node runtime reports), so each class sets its name explicitly
 * (test/unit/materialize/permanent-shard-errors.test.ts checks every one against this list).
 */
export const permanentShardErrors = [
  // The map item is not a shard of this deployment's runs (lambdas/materialize-shard).
  'InvalidShardEventError',
  // The run moved on, or the writer lost its lease (write-unloaded-shard.ts, shard-state.ts).
  'StaleShardError',
  'LeaseLostError',
  // What the run's UNLOAD or checkpoint holds does not read back (unload-manifest.ts, shard-state.ts).
  'UnloadedShardError',
  'ShardCheckpointError',
  // A tile-fed run asked of a writer deployed without Athena (write-unloaded-shard.ts).
  'ShardTileBasesError',
  // The view is not online or has no features in the deployed registry (materialize-view.ts).
  'MaterializationError',
  // A tile base query past Athena's 262,144 bytes (athena-query-size.ts): the same records
  // render the same query.
  'AthenaQueryTooLongError',
  // A commit record the tile base reads is damaged (damaged-commit-record.ts).
  'DamagedCommitRecordError',
  // A tile item whose stored tiles, rows or base do not read back as fstore wrote them
  // (damaged-tile-item.ts): the run reads the same item again.
  'DamagedTileItemError',
] as const;

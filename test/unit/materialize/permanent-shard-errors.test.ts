import { describe, expect, it } from 'vitest';
import { InvalidShardEventError } from '../../../lambdas/materialize-shard/handler.ts';
import { LeaseLostError } from '../../../lib/materialize/materialization-state.ts';
import { MaterializationError } from '../../../lib/materialize/materialize-view.ts';
import { permanentShardErrors } from '../../../lib/materialize/permanent-shard-errors.ts';
import { ShardCheckpointError } from '../../../lib/materialize/shard-state.ts';
import { UnloadedShardError } from '../../../lib/materialize/unload-manifest.ts';
import {
  ShardTileBasesError,
  StaleShardError,
} from '../../../lib/materialize/write-unloaded-shard.ts';
import { DamagedCommitRecordError } from '../../../lib/offline/damaged-commit-record.ts';
import { DamagedTileItemError } from '../../../lib/online/aggregation-tiles/damaged-tile-item.ts';
import { AthenaQueryTooLongError } from '../../../lib/sql/athena-query-size.ts';

/** Each class the list names, and how to make one. */
const classes: [abstract new (...args: never) => Error, () => Error][] = [
  [InvalidShardEventError, () => new InvalidShardEventError('m')],
  [StaleShardError, () => new StaleShardError('m', undefined)],
  [LeaseLostError, () => new LeaseLostError('m', undefined)],
  [UnloadedShardError, () => new UnloadedShardError('m', undefined)],
  [ShardCheckpointError, () => new ShardCheckpointError('m', undefined)],
  [ShardTileBasesError, () => new ShardTileBasesError('m', undefined)],
  [MaterializationError, () => new MaterializationError('m', undefined)],
  [AthenaQueryTooLongError, () => new AthenaQueryTooLongError('m', undefined)],
  [DamagedCommitRecordError, () => new DamagedCommitRecordError('m')],
  [DamagedTileItemError, () => new DamagedTileItemError('m')],
];

describe('the shard writer errors Step Functions does not retry', () => {
  it('are listed by the very name their instances carry', () => {
    expect(classes.map(([, make]) => make().name)).toEqual([...permanentShardErrors]);
  });

  it('keep that name when a bundler renames their classes', () => {
    for (const [cls, make] of classes) {
      const name = cls.name;
      Object.defineProperty(cls, 'name', { value: 'e', configurable: true });
      try {
        expect(make().name, name).toBe(name);
      } finally {
        Object.defineProperty(cls, 'name', { value: name, configurable: true });
      }
    }
  });
});

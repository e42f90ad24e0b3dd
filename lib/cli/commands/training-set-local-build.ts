import { rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { EntityPreload } from '../../offline/entity-preload.ts';
import { syncFile, syncFolder } from '../../offline/ingest-manifest.ts';
import type { SeqPins } from '../../offline/seq-pins.ts';
import { getTrainingSet, type TrainingSetResult } from '../../offline/training-set.ts';
import type { Registry } from '../../registry/index.ts';
import type { FeatureRequest } from '../../sql/point-in-time-plan.ts';
import type { CliContext } from '../context.ts';
import { InterruptedError } from '../shutdown.ts';
import { partialPath } from './training-set-output.ts';

/** What a local training set is built from: the request, the entity file, how, and pins. */
export interface LocalBuild {
  readonly request: FeatureRequest;
  readonly entities: string;
  readonly timestampColumn: string;
  readonly fullFeatureNames: boolean;
  readonly aggregations: 'auto' | 'range-join' | 'running-totals';
  readonly onTransformError: 'fail' | 'null';
  readonly pins?: SeqPins;
}

/**
 * Builds a local training set into `out`. The result is written beside `out` and renamed into
 * place when complete. A signal stops the DuckDB query (process.exit could not: its thread
 * waits for this one to run our JS functions) and removes the half-written file; a second one
 * exits at once.
 */
export async function buildLocalTrainingSet(
  ctx: CliContext,
  registry: Registry,
  build: LocalBuild,
  out: string,
  then: {
    /** Runs once the result is complete, just before it replaces `out`. */
    readonly beforeReplace?: () => Promise<void>;
    /** Return a Parquet output's v2 content hash, computed as it is written (for its manifest). */
    readonly contentHash?: boolean;
    /** The entity file, already being read (startEntityPreload). */
    readonly entityPreload?: EntityPreload;
  } = {},
): Promise<TrainingSetResult> {
  const partial = partialPath(out);
  const signal = ctx.shutdown.stopSignal();
  const forget = ctx.shutdown.onExit(() => rmSync(partial, { force: true }));
  const building = getTrainingSet({
    registry,
    dataDir: ctx.options.dataDir,
    env: ctx.env,
    request: build.request,
    entities: build.entities,
    entityTimestampColumn: build.timestampColumn,
    ...(build.fullFeatureNames ? { fullFeatureNames: true } : {}),
    out: partial,
    aggregations: build.aggregations,
    onTransformError: build.onTransformError,
    onPhase: (phase) => ctx.out.status(`${phase} ...`),
    signal,
    ...(build.pins ? { pins: build.pins } : {}),
    ...(then.contentHash ? { contentHash: true } : {}),
    ...(then.entityPreload ? { entityPreload: then.entityPreload } : {}),
  })
    .then(async (done) => {
      // On disk before it takes the name (and before the manifest naming its hash is written):
      // the command may end its process without closing DuckDB (lib/process-lifetime.ts).
      await syncFile(partial);
      await then.beforeReplace?.();
      await rename(partial, out);
      await syncFolder(path.dirname(out));
      return done;
    })
    .catch(async (error: unknown) => {
      await rm(partial, { force: true });
      if (signal.aborted && ctx.shutdown.signal)
        throw new InterruptedError(
          ctx.shutdown.signal,
          `stopped by ${ctx.shutdown.signal}: no training set was written to ${ctx.display(out)}`,
          'run the same command again',
        );
      throw error;
    })
    .finally(forget);
  return ctx.shutdown.duringNativeCallbacks(building);
}

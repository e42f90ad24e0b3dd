import { rm } from 'node:fs/promises';
import { faultPoint } from '../../fault-injection.ts';
import { fileSha256 } from '../../offline/canonical-rows.ts';
import type { EntityPreload } from '../../offline/entity-preload.ts';
import { readManifest } from '../../offline/ingest-manifest.ts';
import { offlineRoot } from '../../offline/local-layout.ts';
import { type CommittedSeq, committedSeqs, exactPins, seqToJson } from '../../offline/seq-pins.ts';
import { findSnapshot, type Snapshot } from '../../offline/snapshots.ts';
import type { TrainingSetResult } from '../../offline/training-set.ts';
import { manifestPathFor, type TrainingSetManifest } from '../../offline/training-set-manifest.ts';
import type { Registry } from '../../registry/index.ts';
import { CliError } from '../cli-error.ts';
import type { CliContext } from '../context.ts';
import type { TrainingSetCliOptions } from './training-set.ts';
import { buildLocalTrainingSet, type LocalBuild } from './training-set-local-build.ts';
import { trainingSetManifest, writeManifestBeside } from './training-set-record.ts';

/** A local training set written to `out`, and the manifest written beside it. */
export interface RecordedTrainingSet {
  readonly result: TrainingSetResult;
  /** Absent for a store without an ingest manifest (files placed by hand): nothing to pin. */
  readonly manifest?: string;
  readonly warnings: readonly string[];
}

/**
 * Builds the training set (as of `--snapshot` when given) and writes `<out>.manifest.json`
 * after it: the committed data per source it read, and the output's content hash.
 */
export async function buildAndRecord(
  ctx: CliContext,
  registry: Registry,
  options: TrainingSetCliOptions,
  fstoreVersion: string,
  out: string,
  entityPreload?: EntityPreload,
): Promise<RecordedTrainingSet> {
  const root = offlineRoot(ctx.options.dataDir, ctx.env);
  const before = await readManifest(root);
  const snapshot = options.snapshot
    ? await findSnapshot(ctx.options.dataDir, ctx.env, options.snapshot)
    : undefined;
  const build: LocalBuild = {
    request: options.service ? { service: options.service } : { features: options.features ?? [] },
    entities: options.entities,
    timestampColumn: options.timestampColumn,
    fullFeatureNames: options.fullFeatureNames ?? false,
    aggregations: options.aggregations,
    onTransformError: options.onTransformError,
    // Exact: ingests committed since the snapshot with rows below its pins stay out.
    ...(snapshot ? { pins: exactPins(snapshot.sources, before ?? []) } : {}),
  };
  // The entity file is hashed while DuckDB's threads build the training set, not after it
  // (only the manifest needs it); a build that fails first leaves the hash unawaited, not unhandled.
  const entitiesSha256 = before ? fileSha256(options.entities) : undefined;
  entitiesSha256?.catch(() => undefined);
  const result = await buildLocalTrainingSet(ctx, registry, build, out, {
    beforeReplace: () => removeStaleManifest(out),
    contentHash: before !== undefined,
    ...(entityPreload ? { entityPreload } : {}),
  });
  faultPoint('training-set:before-manifest');
  if (!before)
    return {
      result,
      warnings: [
        `no manifest was written: ${root} has no ingest manifest (files placed by hand), so the data read cannot be pinned`,
      ],
    };
  const committed = committedSeqs(before, result.sources);
  const after = committedSeqs((await readManifest(root)) ?? [], result.sources);
  const moved = snapshot
    ? []
    : result.sources.filter((s) => after.get(s)?.maxSeq !== committed.get(s)?.maxSeq);
  try {
    const manifest = await trainingSetManifest({
      fstoreVersion,
      env: ctx.env,
      registry,
      build,
      entitiesSha256: await (entitiesSha256 ?? fileSha256(options.entities)),
      sources: manifestSourcesOf(result.sources, snapshot, committed),
      ...(snapshot ? { snapshot: snapshot.name } : {}),
      out,
      result,
    });
    return {
      result,
      manifest: await writeManifestBeside(out, manifest),
      warnings: moved.map(
        (source) =>
          `an ingest into source "${source}" committed while the training set was built: the manifest pins the data committed when it started, so a replay may differ`,
      ),
    };
  } catch (error) {
    throw new CliError(
      `the training set was written to ${ctx.display(out)}, but its manifest could not be: ${(error as Error).message}`,
      {
        hint: 'free disk space or fix the permission, then build it again to get a replayable training set',
        cause: error,
      },
    );
  }
}

function manifestSourcesOf(
  sources: readonly string[],
  snapshot: Snapshot | undefined,
  committed: ReadonlyMap<string, CommittedSeq>,
): TrainingSetManifest['sources'] {
  return Object.fromEntries(
    sources.map((source) => {
      if (snapshot) {
        const pinned = snapshot.sources[source];
        return [source, { maxSeq: pinned?.maxSeq ?? 0, ingestIds: [...(pinned?.ingestIds ?? [])] }];
      }
      const seq = committed.get(source);
      return [
        source,
        { maxSeq: seqToJson(seq?.maxSeq ?? 0n), ingestIds: [...(seq?.ingestIds ?? [])] },
      ];
    }),
  );
}

/**
 * The manifest of an earlier build of `out` describes rows about to be replaced: it goes first,
 * so a crash before the new manifest leaves an output without one, never with a wrong one.
 */
export async function removeStaleManifest(out: string): Promise<void> {
  await rm(manifestPathFor(out), { force: true });
}

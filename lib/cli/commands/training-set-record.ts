import path from 'node:path';
import {
  contentHashAlgorithmFor,
  contentHashOfBuilt,
  fileSha256,
  outputFormat,
} from '../../offline/canonical-rows.ts';
import type { TrainingSetResult } from '../../offline/training-set.ts';
import {
  manifestPathFor,
  TRAINING_SET_MANIFEST_FORMAT,
  type TrainingSetManifest,
  writeTrainingSetManifest,
} from '../../offline/training-set-manifest.ts';
import type { Registry } from '../../registry/index.ts';
import type { LocalBuild } from './training-set-local-build.ts';

/** What the manifest of a training set written to `out` says, output hash included. */
export async function trainingSetManifest(parts: {
  readonly fstoreVersion: string;
  readonly env: string;
  readonly registry: Registry;
  readonly build: LocalBuild;
  readonly entitiesSha256: string;
  readonly sources: TrainingSetManifest['sources'];
  readonly snapshot?: string;
  readonly out: string;
  readonly result: Pick<TrainingSetResult, 'rows' | 'columns' | 'contentHash'>;
  /** An Athena build: where it read and how (default: the local engine). */
  readonly athena?: TrainingSetManifest['athena'];
}): Promise<TrainingSetManifest> {
  const { build, result, out } = parts;
  const algorithm = contentHashAlgorithmFor(out);
  return {
    format: TRAINING_SET_MANIFEST_FORMAT,
    fstoreVersion: parts.fstoreVersion,
    createdAt: new Date().toISOString(),
    env: parts.env,
    registryVersion: parts.registry.version,
    request:
      'service' in build.request
        ? { service: build.request.service }
        : { features: [...build.request.features] },
    fullFeatureNames: build.fullFeatureNames,
    entities: {
      file: path.resolve(build.entities),
      sha256: parts.entitiesSha256,
      timestampColumn: build.timestampColumn,
    },
    sources: parts.sources,
    ...(parts.snapshot !== undefined ? { snapshot: parts.snapshot } : {}),
    ...(parts.athena ? { athena: parts.athena } : {}),
    strategy: {
      engine: parts.athena ? 'athena' : 'duckdb',
      pointInTime: parts.athena ? 'merge-window' : 'asof',
      aggregations: build.aggregations,
      onTransformError: build.onTransformError,
    },
    output: {
      file: path.basename(out),
      format: outputFormat(out),
      rows: result.rows,
      columns: [...result.columns],
      contentHash: {
        algorithm,
        sha256: await contentHashOfBuilt(out, algorithm, result.contentHash),
      },
    },
  };
}

/** Writes `manifest` beside `out` (after the output: a manifest always names a whole file). */
export async function writeManifestBeside(
  out: string,
  manifest: TrainingSetManifest,
): Promise<string> {
  const file = manifestPathFor(out);
  await writeTrainingSetManifest(file, manifest);
  return file;
}

export { fileSha256 };

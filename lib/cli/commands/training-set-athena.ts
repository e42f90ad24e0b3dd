import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type AthenaPinsGiven, pinnedAthenaSources } from '../../offline/athena-pinned-sources.ts';
import { writeAthenaResultFile } from '../../offline/athena-result-file.ts';
import {
  type AthenaTrainingSetResult,
  getTrainingSetOnAthena,
} from '../../offline/athena-training-set.ts';
import { fileSha256 } from '../../offline/canonical-rows.ts';
import { requestSources } from '../../offline/request-sources.ts';
import { findS3Snapshot } from '../../offline/s3-snapshots.ts';
import type { TrainingSetManifest } from '../../offline/training-set-manifest.ts';
import { trainingSetOutputShape } from '../../offline/training-set-output-shape.ts';
import type { Registry } from '../../registry/index.ts';
import { athenaRunnerFor } from '../aws-env.ts';
import { awsRegion } from '../aws-region.ts';
import { CliError } from '../cli-error.ts';
import type { CliContext } from '../context.ts';
import type { TrainingSetCliOptions } from './training-set.ts';
import { requireAthenaRequest } from './training-set-dry-run.ts';
import type { LocalBuild } from './training-set-local-build.ts';
import { requireOut } from './training-set-output.ts';
import { trainingSetManifest, writeManifestBeside } from './training-set-record.ts';
import { removeStaleManifest } from './training-set-recorded.ts';

/** What an Athena training set is built from. */
export interface AthenaBuild {
  readonly service: string;
  readonly bucket: string;
  readonly entities: string;
  readonly timestampColumn: string;
  readonly onTransformError: 'fail' | 'null';
  /** A snapshot's or a replayed manifest's pins; absent: what is committed when it starts. */
  readonly given?: AthenaPinsGiven;
}

/** An Athena training set written to `out`: the query, the pinned sources and the output's shape. */
export interface AthenaBuilt {
  readonly query: AthenaTrainingSetResult;
  readonly sources: TrainingSetManifest['sources'];
  readonly rows: number;
  readonly columns: string[];
  readonly transformErrors?: { rows: number; first?: string };
}

/**
 * Builds a service's training set on Athena into `out`, every source read as of a pin (`given`,
 * else the seqs the S3 commit records say are committed when it starts), so its manifest names
 * exactly the data read: per source the pin, the ingests and the S3 objects.
 */
export async function buildOnAthena(
  ctx: CliContext,
  registry: Registry,
  build: AthenaBuild,
  out: string,
  /** Runs once the query is done, before the result is written to `out`. */
  beforeWrite?: () => Promise<void>,
): Promise<AthenaBuilt> {
  const region = awsRegion(ctx.env);
  const s3 = new S3Client({ region });
  const pinned = await pinnedAthenaSources({
    s3,
    bucket: build.bucket,
    sources: requestSources(registry, { service: build.service }),
    ...(build.given ? { given: build.given } : {}),
  });
  const { runner, database } = athenaRunnerFor(ctx.env);
  // SIGINT/SIGTERM cancel the Athena query (it would run on, and cost, without us).
  const signal = ctx.shutdown.stopSignal();
  ctx.out.status(`running on Athena (workgroup fstore-${ctx.env}) ...`);
  const query = await getTrainingSetOnAthena({
    registry,
    service: build.service,
    entities: build.entities,
    entityTimestampColumn: build.timestampColumn,
    bucket: build.bucket,
    database,
    runner,
    s3,
    signal,
    pins: pinned.pins,
  });
  await beforeWrite?.();
  // The on-demand transforms run as DuckDB calls JS functions: see the local training set.
  const written = await ctx.shutdown.duringNativeCallbacks(
    writeAthenaResultFile({
      registry,
      service: build.service,
      files: query.files,
      entities: build.entities,
      timestampColumn: build.timestampColumn,
      out,
      onTransformError: build.onTransformError,
      signal,
    }),
  );
  return { query, sources: pinned.sources, ...(await trainingSetOutputShape(out)), ...written };
}

/** The manifest of an Athena build (the request as LocalBuild records it, and where it read). */
export async function athenaManifest(
  ctx: CliContext,
  registry: Registry,
  build: AthenaBuild,
  built: AthenaBuilt,
  out: string,
  extra: { fstoreVersion: string; aggregations: LocalBuild['aggregations']; snapshot?: string },
): Promise<TrainingSetManifest> {
  return trainingSetManifest({
    fstoreVersion: extra.fstoreVersion,
    env: ctx.env,
    registry,
    build: {
      request: { service: build.service },
      entities: build.entities,
      timestampColumn: build.timestampColumn,
      fullFeatureNames: false,
      aggregations: extra.aggregations,
      onTransformError: build.onTransformError,
    },
    entitiesSha256: await fileSha256(build.entities),
    sources: built.sources,
    ...(extra.snapshot !== undefined ? { snapshot: extra.snapshot } : {}),
    out,
    result: built,
    athena: {
      bucket: build.bucket,
      queryExecutionId: built.query.queryExecutionId,
      dataScannedBytes: built.query.dataScannedBytes,
    },
  });
}

/** The same training set on an AWS environment: Athena does the join, the result lands in --out. */
export async function athenaTrainingSet(
  ctx: CliContext,
  registry: Registry,
  options: TrainingSetCliOptions,
  fstoreVersion: string,
): Promise<void> {
  const { service, bucket } = requireAthenaRequest(ctx, options);
  const out = requireOut(options);
  const snapshot = options.snapshot
    ? await findS3Snapshot(
        { s3: new S3Client({ region: awsRegion(ctx.env) }), bucket, env: ctx.env },
        options.snapshot,
      )
    : undefined;
  const build: AthenaBuild = {
    service,
    bucket,
    entities: options.entities,
    timestampColumn: options.timestampColumn,
    onTransformError: options.onTransformError,
    ...(snapshot
      ? { given: { pinned: snapshot.sources, what: `snapshot "${snapshot.name}"` } }
      : {}),
  };
  // The manifest of an earlier build of `out` goes before its output is replaced.
  const built = await buildOnAthena(ctx, registry, build, out, () => removeStaleManifest(out));
  let manifest: string;
  try {
    manifest = await writeManifestBeside(
      out,
      await athenaManifest(ctx, registry, build, built, out, {
        fstoreVersion,
        aggregations: options.aggregations,
        ...(snapshot ? { snapshot: snapshot.name } : {}),
      }),
    );
  } catch (error) {
    throw new CliError(
      `the training set was written to ${ctx.display(out)}, but its manifest could not be: ${(error as Error).message}`,
      {
        hint: 'free disk space or fix the permission, then build it again to get a replayable training set',
        cause: error,
      },
    );
  }
  const { query } = built;
  if (options.json) {
    ctx.out.json({
      service,
      out: path.resolve(out),
      engine: 'athena',
      queryExecutionId: query.queryExecutionId,
      dataScannedBytes: query.dataScannedBytes,
      requestId: query.requestId,
      rows: built.rows,
      manifest: path.resolve(manifest),
      ...(snapshot ? { snapshot: snapshot.name } : {}),
      ...(built.transformErrors ? { transformErrors: built.transformErrors } : {}),
    });
    return;
  }
  if (built.transformErrors)
    ctx.out.status(
      `${ctx.out.c.yellow('warning:')} ${built.transformErrors.rows.toLocaleString('en-US')} rows have NULL on-demand features because their transform failed; the first: ${built.transformErrors.first ?? ''}`,
    );
  ctx.out.line(
    `${ctx.out.c.green('✔')} training set of ${service} → ${ctx.display(out)} (Athena query ${query.queryExecutionId}, ${(query.dataScannedBytes / 1024 ** 2).toFixed(1)} MiB scanned, request ${query.requestId}; row_key is the entity file's row number)`,
  );
  ctx.out.line(`manifest → ${ctx.display(manifest)}`);
}

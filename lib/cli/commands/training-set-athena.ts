import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { writeAthenaResultFile } from '../../offline/athena-result-file.ts';
import { getTrainingSetOnAthena } from '../../offline/athena-training-set.ts';
import type { Registry } from '../../registry/index.ts';
import { athenaRunnerFor } from '../aws-env.ts';
import { awsRegion } from '../aws-region.ts';
import type { CliContext } from '../context.ts';
import type { TrainingSetCliOptions } from './training-set.ts';
import { requireAthenaRequest } from './training-set-dry-run.ts';
import { requireOut } from './training-set-output.ts';

/** The same training set on an AWS environment: Athena does the join, the result lands in --out. */
export async function athenaTrainingSet(
  ctx: CliContext,
  registry: Registry,
  options: TrainingSetCliOptions,
): Promise<void> {
  const { service, bucket } = requireAthenaRequest(ctx, options);
  const out = requireOut(options);
  const region = awsRegion(ctx.env);
  const { runner, database } = athenaRunnerFor(ctx.env);
  // SIGINT/SIGTERM cancel the Athena query (it would run on, and cost, without us).
  const signal = ctx.shutdown.stopSignal();
  ctx.out.status(`running on Athena (workgroup fstore-${ctx.env}) ...`);
  const result = await getTrainingSetOnAthena({
    registry,
    service,
    entities: options.entities,
    entityTimestampColumn: options.timestampColumn,
    bucket,
    database,
    runner,
    s3: new S3Client({ region }),
    signal,
  });
  // The on-demand transforms run as DuckDB calls JS functions: see the local training set.
  const written = await ctx.shutdown.duringNativeCallbacks(
    writeAthenaResultFile({
      registry,
      service,
      files: result.files,
      entities: options.entities,
      timestampColumn: options.timestampColumn,
      out,
      onTransformError: options.onTransformError,
      signal,
    }),
  );
  if (options.json) {
    ctx.out.json({
      service,
      out: path.resolve(out),
      engine: 'athena',
      queryExecutionId: result.queryExecutionId,
      dataScannedBytes: result.dataScannedBytes,
      requestId: result.requestId,
      ...written,
    });
    return;
  }
  if (written.transformErrors)
    ctx.out.status(
      `${ctx.out.c.yellow('warning:')} ${written.transformErrors.rows.toLocaleString('en-US')} rows have NULL on-demand features because their transform failed; the first: ${written.transformErrors.first ?? ''}`,
    );
  ctx.out.line(
    `${ctx.out.c.green('✔')} training set of ${service} → ${ctx.display(out)} (Athena query ${result.queryExecutionId}, ${(result.dataScannedBytes / 1024 ** 2).toFixed(1)} MiB scanned, request ${result.requestId}; row_key is the entity file's row number)`,
  );
}

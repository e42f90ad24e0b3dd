import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { JoinKeyType } from '../definitions/index.ts';
import { onDemandInputsOfRequest } from '../on-demand/plan-on-demand.ts';
import type { Registry } from '../registry/index.ts';
import { athenaDialect } from '../sql/athena-dialect.ts';
import {
  bindServiceRequestParameters,
  entityRequestPrefix,
  renderServiceRequest,
} from '../sql/athena-service-query.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import { planPointInTime, requiredJoinKeys } from '../sql/point-in-time-plan.ts';
import type { AthenaQueryRunner } from './athena-query-runner.ts';
import { openDuckdb } from './duckdb-session.ts';
import { loadEntities } from './load-entities.ts';
import type { SeqPins } from './seq-pins.ts';

export interface AthenaTrainingSetOptions {
  readonly registry: Registry;
  readonly service: string;
  readonly entities: string;
  readonly entityTimestampColumn?: string;
  readonly bucket: string;
  readonly database: string;
  readonly runner: AthenaQueryRunner;
  readonly s3: S3Client;
  /** Where the result's Parquet parts are downloaded; default a new temp folder. */
  readonly downloadDir?: string;
  readonly requestId?: string;
  readonly signal?: AbortSignal;
  /** Read each source as of its pin (`fstore_seq <= n`): a snapshot, a replay, a recorded build. */
  readonly pins?: SeqPins;
}

export interface AthenaTrainingSetResult {
  readonly requestId: string;
  readonly queryExecutionId: string;
  readonly dataScannedBytes: number;
  /** s3:// prefix holding the result as Parquet. */
  readonly location: string;
  /** Local copies of the result parts (columns: row_key, join keys, event_timestamp, features). */
  readonly files: readonly string[];
}

/**
 * A feature service's training set on Athena: the entity rows go to the service's
 * entity-request table under a new request id, the same point-in-time SQL Athena's prepared
 * statement holds is UNLOADed to Parquet under `training-sets/`, and the parts are downloaded.
 * `row_key` is the entity row's position in the file (1-based), to join labels back.
 */
export async function getTrainingSetOnAthena(
  options: AthenaTrainingSetOptions,
): Promise<AthenaTrainingSetResult> {
  const requestId =
    options.requestId ??
    `r${new Date()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .toLowerCase()}`;
  if (!/^[a-z0-9-]+$/.test(requestId))
    throw new Error(`request id "${requestId}" must be lower-case letters, digits and "-"`);
  const timestampColumn = options.entityTimestampColumn ?? 'event_timestamp';
  const plan = planPointInTime(
    options.registry,
    { service: options.service },
    {
      entityTimestampColumn: timestampColumn,
      extraFeatures: onDemandInputsOfRequest(options.registry, { service: options.service }),
    },
  );
  const staged = path.join(options.downloadDir ?? tmpdir(), `fstore-request-${requestId}.parquet`);
  const { timeRange: entityTimeRange } = await stageEntityRequest({
    entities: options.entities,
    timestampColumn,
    joinKeys: requiredJoinKeys(plan),
    staged,
  });
  try {
    await options.s3.send(
      new PutObjectCommand({
        Bucket: options.bucket,
        Key: `${entityRequestPrefix(options.service)}request_id=${requestId}/entities.parquet`,
        Body: await readFile(staged),
      }),
    );
  } finally {
    await rm(staged, { force: true });
  }

  const prefix = `training-sets/${options.service}/${requestId}/`;
  const location = `s3://${options.bucket}/${prefix}`;
  const result = await options.runner.run(
    renderTrainingSetUnload({ ...options, requestId, entityTimeRange, location }),
    options.signal ? { signal: options.signal } : {},
  );
  const files = await download(
    options.s3,
    options.bucket,
    prefix,
    options.downloadDir ?? path.join(tmpdir(), `fstore-training-set-${requestId}`),
  );
  return {
    requestId,
    queryExecutionId: result.queryExecutionId,
    dataScannedBytes: result.dataScannedBytes,
    location,
    files,
  };
}

/**
 * Writes the rows of an entity file as the request table reads them (Parquet: `row_key` = the
 * row's position in the file, the join keys, `event_timestamp` in UTC) to `staged`, and returns
 * the range of their times. A file without rows, or with a row that cannot be used, is refused
 * naming the file (and the row).
 */
export async function stageEntityRequest(options: {
  readonly entities: string;
  readonly timestampColumn: string;
  readonly joinKeys: readonly { readonly name: string; readonly type: JoinKeyType }[];
  readonly staged: string;
}): Promise<{ rows: number; timeRange: { min: string; max: string } }> {
  await mkdir(path.dirname(options.staged), { recursive: true });
  const session = await openDuckdb();
  try {
    const loaded = await loadEntities(session.connection, options.entities, {
      timestampColumn: options.timestampColumn,
      joinKeys: options.joinKeys,
    });
    if (!loaded.timeRange)
      throw new Error(
        `the entity file ${options.entities} has no rows: a training set needs at least one`,
      );
    const columns = [
      `CAST(fstore_row_id AS VARCHAR) AS row_key`,
      ...options.joinKeys.map((k) => quoteIdentifier(k.name)),
      `${quoteIdentifier(options.timestampColumn)} AS event_timestamp`,
    ];
    await session.connection.run(
      `COPY (SELECT ${columns.join(', ')} FROM fstore_entities ORDER BY fstore_row_id) TO ${quoteLiteral(options.staged)} (FORMAT parquet)`,
    );
    return { rows: loaded.rows, timeRange: loaded.timeRange };
  } finally {
    session.close();
  }
}

/**
 * The statement a training set runs on Athena: the service's prepared-statement SQL for one
 * request and the range of its entity times (bound in the order the stack output
 * `Service<Name>Parameters` publishes, widened to milliseconds), UNLOADed to Parquet at `location`.
 */
export function renderTrainingSetUnload(options: {
  readonly registry: Registry;
  readonly service: string;
  readonly database: string;
  readonly requestId: string;
  /** Earliest and latest entity timestamp of the request (ISO, UTC). */
  readonly entityTimeRange: { readonly min: string; readonly max: string };
  readonly location: string;
  /** Read each source as of its pin (a snapshot, a replay): a one-off statement, not the prepared one. */
  readonly pins?: SeqPins;
}): string {
  const dialect = athenaDialect(options.database);
  const select = bindServiceRequestParameters(
    renderServiceRequest(
      options.registry,
      options.service,
      options.database,
      dialect,
      options.pins ? { pins: options.pins } : {},
    ),
    { requestId: options.requestId, ...options.entityTimeRange },
    dialect,
    `the training-set SQL of service "${options.service}"`,
  );
  return `UNLOAD (${select}) TO ${quoteLiteral(options.location)} WITH (format = 'PARQUET', compression = 'SNAPPY')`;
}

async function download(
  s3: S3Client,
  bucket: string,
  prefix: string,
  dir: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? []) {
      if (!object.Key) continue;
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      const local = path.join(
        dir,
        `${files.length.toString().padStart(4, '0')}-${path.basename(object.Key)}`,
      );
      await writeFile(local, (await response.Body?.transformToByteArray()) ?? new Uint8Array());
      files.push(local);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return files;
}

import type { S3Client } from '@aws-sdk/client-s3';
import { HintedError } from '../hinted-error.ts';
import { partitionOfRegion } from '../iam/partition.ts';
import type { Registry } from '../registry/index.ts';
import { athenaDialect } from '../sql/athena-dialect.ts';
import { renderServiceRequest, requestTableReads } from '../sql/athena-service-query.ts';
import type { PointInTimePlan } from '../sql/point-in-time-plan.ts';
import { partitionOfPath } from './dt-partition.ts';
import { ingestRecordsPrefix } from './ingest-records.ts';
import { eachS3Object, truncatedListing } from './s3-list-keys.ts';
import {
  athenaQueryPrice,
  inPartitionRange,
  partitionRanges,
  partitionTotals,
  type SourcePartitionRange,
  type SourceScanEstimate,
} from './scan-estimate.ts';

/** Named explicitly: bundles are minified, which renames classes (HintedError's default). */
export class ScanEstimateError extends HintedError {
  override name = 'ScanEstimateError';
}

export interface AthenaScanEstimate {
  readonly bucket: string;
  readonly sources: readonly SourceScanEstimate[];
  /** Each source read's partition and ingest-record bytes, and each read of the request's rows. */
  readonly bytes: number;
  readonly requestBytes: number;
  /** How often the statement reads the request table. */
  readonly requestReads: number;
  readonly price: { readonly billedBytes: number; readonly usd: number };
}

/**
 * What the Athena training set of `service` would scan for entity rows in `timeRange`, from the
 * sizes of the S3 objects under the `dt` partitions its statement can read (one ListObjectsV2
 * walk per source from the first partition in range, stopping past the last) and of the ingest
 * records each read of a source joins. Every object byte counts, so it is an upper bound per
 * read: Athena reads only the Parquet columns and row groups it needs. Nothing is written and no
 * query runs.
 */
export async function estimateAthenaScan(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly region: string;
  readonly registry: Registry;
  readonly service: string;
  readonly plan: PointInTimePlan;
  readonly database: string;
  readonly timeRange: { readonly min: string; readonly max: string };
  /** Size of the request's entity rows as uploaded (Parquet). */
  readonly requestBytes?: number;
}): Promise<AthenaScanEstimate> {
  const reads = statementReads(options.registry, options.service, options.database);
  const sources: SourceScanEstimate[] = [];
  for (const range of partitionRanges(options.plan, options.timeRange)) {
    const prefix = options.registry.sources.find((s) => s.name === range.source)?.offline.s3Prefix;
    if (!prefix) throw new Error(`internal: source "${range.source}" is not in the registry`);
    const listing = { ...options, prefix };
    const files = await listObjects(listing, range);
    const records = await listObjects(
      { ...options, prefix: `${ingestRecordsPrefix}${range.source}/` },
      undefined,
    );
    const partitions = partitionTotals(files);
    sources.push({
      ...range,
      partitions,
      objects: files.length,
      bytes: sum(files.map((f) => f.bytes)),
      reads: reads.sources.get(range.source) ?? 0,
      recordBytes: sum(records.map((r) => r.bytes)),
    });
  }
  const requestBytes = options.requestBytes ?? 0;
  const bytes =
    requestBytes * reads.request + sum(sources.map((s) => s.reads * (s.bytes + s.recordBytes)));
  return {
    bucket: options.bucket,
    sources,
    bytes,
    requestBytes,
    requestReads: reads.request,
    price: athenaQueryPrice(bytes),
  };
}

/**
 * How many times the service statement reads each source and its request table (each read is a
 * scan Athena bills). Every source relation the statement holds is read once: none sits in a
 * WITH query referenced twice.
 */
export function statementReads(
  registry: Registry,
  service: string,
  database: string,
): { sources: Map<string, number>; request: number } {
  const reads = new Map<string, number>();
  const athena = athenaDialect(database);
  const { sql } = renderServiceRequest(registry, service, database, {
    ...athena,
    sourceRelation: (source) => {
      reads.set(source, (reads.get(source) ?? 0) + 1);
      return athena.sourceRelation(source);
    },
  });
  return { sources: reads, request: requestTableReads(sql) };
}

/**
 * The objects under `prefix` with their `dt` (all when `range` is undefined, `dt` then '').
 * Keys are listed in order and `dt=YYYY-MM-DD` sorts by date, so the walk starts after the last
 * key before the range and stops at the first partition past it. Hidden files (`_`, `.`), which
 * Athena does not read, are left out.
 */
async function listObjects(
  options: {
    readonly s3: S3Client;
    readonly bucket: string;
    readonly region: string;
    readonly prefix: string;
  },
  range: SourcePartitionRange | undefined,
): Promise<{ dt: string; bytes: number }[]> {
  const { s3, bucket, prefix } = options;
  const found: { dt: string; bytes: number }[] = [];
  const startAfter = range?.fromDay === undefined ? undefined : `${prefix}dt=${range.fromDay}`;
  const failed = (error: unknown, doing: string) =>
    error === undefined
      ? new ScanEstimateError(
          `${doing} ${truncatedListing}: no estimate`,
          'try again; if it persists, the endpoint (AWS_ENDPOINT_URL_S3) does not speak ListObjectsV2 as S3 does',
        )
      : explainListError(error, options);
  for await (const { key, bytes } of eachS3Object(s3, bucket, prefix, failed, startAfter)) {
    const name = key.slice(key.lastIndexOf('/') + 1);
    if (name.startsWith('_') || name.startsWith('.')) continue;
    if (!range) {
      found.push({ dt: '', bytes });
      continue;
    }
    // Athena reads `<prefix>dt=<day>/` itself, not a folder below or above it.
    const relative = key.slice(prefix.length);
    const dt = relative.split('/').length === 2 ? partitionOfPath(relative) : undefined;
    if (dt === undefined) continue;
    if (dt > range.toDay) return found;
    if (inPartitionRange(range, dt)) found.push({ dt, bytes });
  }
  return found;
}

function explainListError(
  error: unknown,
  options: { readonly bucket: string; readonly region: string; readonly prefix: string },
): Error {
  const { bucket, prefix } = options;
  const name = error instanceof Error ? error.name : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const where = `s3://${bucket}/${prefix}`;
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403)
    return new ScanEstimateError(
      `access denied listing ${where} (to estimate what the training set would scan)`,
      `the caller needs s3:ListBucket on arn:${partitionOfRegion(options.region)}:s3:::${bucket} for the prefix ${prefix} (fstore iam-policy --for training allows it under offline/)`,
      { cause: error },
    );
  if (isThrottling(name, status)) {
    const attempts = (error as { $metadata?: { attempts?: number } })?.$metadata?.attempts;
    return new ScanEstimateError(
      `S3 kept throttling the listing of ${where} (${name ?? 'error'}, HTTP ${status ?? 503})${attempts ? ` after ${attempts} attempts` : ''}: no estimate`,
      'try again in a minute; S3 slows down requests past a prefix’s request rate, often while other jobs list or write the same prefix (AWS_MAX_ATTEMPTS raises the SDK’s retries)',
      { cause: error },
    );
  }
  if (name === 'NoSuchBucket')
    return new ScanEstimateError(
      `bucket ${bucket} does not exist (listing ${where})`,
      'pass the OfflineBucketName output of the stack with --bucket, in the right account and region',
      { cause: error },
    );
  if (name === 'CredentialsProviderError' || /credential/i.test(message))
    return new ScanEstimateError(
      `no AWS credentials to list ${where}`,
      'set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
      { cause: error },
    );
  return new ScanEstimateError(`listing ${where} failed: ${message}`, undefined, {
    cause: error,
  });
}

/** S3's answers to too many requests, which the SDK retries before giving up. */
function isThrottling(name: string | undefined, status: number | undefined): boolean {
  return (
    name === 'SlowDown' || name === 'Throttling' || name === 'ThrottlingException' || status === 503
  );
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

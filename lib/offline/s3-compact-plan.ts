import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { HintedError } from '../hinted-error.ts';
import { partitionOfRegion } from '../iam/partition.ts';
import { partitionOfPath } from './dt-partition.ts';
import { ingestIdOfObjectPath, ingestRecordsPrefix } from './ingest-records.ts';
import { isCompactionRecord } from './s3-compact-record.ts';
import { listS3Objects } from './s3-list-keys.ts';

/** Named explicitly: bundles are minified, which renames classes (HintedError's default). */
export class S3CompactionPlanError extends HintedError {
  override name = 'S3CompactionPlanError';
}

export interface S3DataObject {
  readonly key: string;
  readonly bytes: number;
}

/** Objects of one `dt` partition that a compaction would merge: committed, each below the target. */
export interface S3MergeGroup {
  readonly source: string;
  /** `dt=YYYY-MM-DD`. */
  readonly partition: string;
  /** Sorted by key. */
  readonly objects: readonly S3DataObject[];
  readonly bytes: number;
}

export interface S3SourcePlan {
  readonly source: string;
  /** Objects fstore's Athena queries read: their ingest id has a record. */
  readonly committedObjects: number;
  readonly committedBytes: number;
  /**
   * Objects named like an ingest's whose id has no record (an ingest or compaction killed
   * between its first upload and its commit), or that a committed compaction replaced (kept
   * for queries that listed them before): no reader reads them and a compaction leaves them alone.
   */
  readonly uncommittedObjects: number;
  /**
   * Objects a committed compaction replaced whose `keepUntil` has passed: no query that listed
   * them before that commit can still be running, so the compaction deletes them.
   */
  readonly expiredReplaced: readonly S3DataObject[];
  readonly groups: readonly S3MergeGroup[];
  /**
   * Keys under the source's records in neither record layout (ingest: `<sha256>/<ingestId>.json`
   * or the older `<sha256>.json`; compaction: `compactions/<id>.json`): not honoured, so they
   * commit nothing and replace nothing. An ingest principal may write keys of the ingest
   * pattern's length anywhere below the records (lib/iam/offline-policy.ts), so one shaped like
   * a compaction record must not make a compaction delete data. Reported for a person to look at.
   */
  readonly ignoredRecords: readonly string[];
}

export interface S3PlanOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly region: string;
  readonly source: string;
  /** The source's data prefix, `offline/<source>/` (registry `offline.s3Prefix`). */
  readonly prefix: string;
  readonly targetBytes: number;
  /** The clock `keepUntil` is compared with. */
  readonly now?: () => Date;
}

/**
 * What a compaction of `source` in an AWS environment would merge, by the rule Athena readers
 * apply (ADR 0008): the objects read are those under `<prefix>dt=YYYY-MM-DD/` named
 * `<ingestId>-<n>.parquet` whose ingest id has a record under `offline/_ingests/<source>/`,
 * less those a compaction's record replaces (s3-compact-record.ts). In each partition, committed objects smaller than `targetBytes` form a group; groups of two or
 * more are planned. Two listings (records, data), each followed through every page; a record
 * in the layout written before the commit rule (`<sha256>.json`) is read for its id. Parquet
 * footers are not read (that needs the objects), so objects with different columns are only
 * told apart when they are merged: a plan says "about" this many objects after.
 */
export async function planS3Compaction(options: S3PlanOptions): Promise<S3SourcePlan> {
  const { committed, replaced, expired, ignored } = await readRecords(options);
  const expiredReplaced: S3DataObject[] = [];
  const partitions = new Map<string, S3DataObject[]>();
  let committedObjects = 0;
  let committedBytes = 0;
  let uncommittedObjects = 0;
  for (const object of await listObjects(options, options.prefix)) {
    const relative = object.key.slice(options.prefix.length);
    // Athena reads `<prefix>dt=<day>/` itself, not a folder below it.
    if (relative.split('/').length !== 2 || partitionOfPath(relative) === undefined) continue;
    const id = ingestIdOfObjectPath(object.key);
    if (id === undefined) continue;
    if (!committed.has(id) || replaced.has(object.key)) {
      uncommittedObjects += 1;
      if (expired.has(object.key)) expiredReplaced.push(object);
      continue;
    }
    committedObjects += 1;
    committedBytes += object.bytes;
    if (object.bytes >= options.targetBytes) continue;
    const partition = relative.slice(0, relative.indexOf('/'));
    partitions.set(partition, [...(partitions.get(partition) ?? []), object]);
  }
  const groups: S3MergeGroup[] = [];
  for (const [partition, objects] of [...partitions].sort(([a], [b]) => a.localeCompare(b))) {
    if (objects.length < 2) continue;
    groups.push({
      source: options.source,
      partition,
      objects: [...objects].sort((a, b) => a.key.localeCompare(b.key)),
      bytes: objects.reduce((sum, o) => sum + o.bytes, 0),
    });
  }
  return {
    source: options.source,
    committedObjects,
    committedBytes,
    uncommittedObjects,
    expiredReplaced,
    groups,
    ignoredRecords: ignored,
  };
}

/**
 * The keys of the objects of `options.source` fstore's Athena queries read now, by the rule
 * planS3Compaction applies (an ingest id with a record, not replaced by a compaction record):
 * what an entity delete rewrites and commits, as opposed to leftovers it deletes outright.
 */
export async function readableObjectKeys(
  options: Omit<S3PlanOptions, 'targetBytes'>,
): Promise<Set<string>> {
  return (await s3ObjectStates(options)).readable;
}

/**
 * readableObjectKeys, and the keys a committed compaction record replaces (`replaced`): an
 * object in neither may be an ingest's whose record is not written yet, so it must not be deleted.
 */
export async function s3ObjectStates(
  options: Omit<S3PlanOptions, 'targetBytes'>,
): Promise<{ readable: Set<string>; replaced: Set<string> }> {
  const { committed, replaced } = await readRecords(options);
  const readable = new Set<string>();
  for (const object of await listObjects(options, options.prefix)) {
    const relative = object.key.slice(options.prefix.length);
    if (relative.split('/').length !== 2 || partitionOfPath(relative) === undefined) continue;
    const id = ingestIdOfObjectPath(object.key);
    if (id !== undefined && committed.has(id) && !replaced.has(object.key))
      readable.add(object.key);
  }
  return { readable, replaced };
}

const ingestIdText = '\\d{8}t\\d{6}-[0-9a-f]{8}';
/** `<sha256>/<ingestId>.json`, the record layout since the commit rule: the id is in the key. */
const ingestRecordTail = new RegExp(`^[0-9a-f]{64}/(${ingestIdText})\\.json$`);
/** `<sha256>.json`, the layout written before the commit rule: the id is in the content. */
const legacyRecordTail = /^[0-9a-f]{64}\.json$/;
/** `compactions/<compactionId>.json` (compactionRecordKey): read for what it replaces. */
const compactionRecordTail = new RegExp(`^compactions/(${ingestIdText})\\.json$`);

/**
 * The ingest ids with a record, from the keys below `offline/_ingests/<source>/` in a record
 * layout; path parts hidden from the Glue table `fstore_ingests` (`_`, `.`, e.g. the lock) are
 * skipped, and any other key is ignored and reported (`ignored`). An ingest record in the
 * writer's layout (`<sha256>/<ingestId>.json`) is not read: its id is in its key, and what its
 * content says is not trusted. An older `<sha256>.json` record is read for its `ingestId`; a
 * compaction's record (`compactions/<id>.json`, holding that id) also for the objects it
 * replaced. One of those that is not a JSON object with an `ingestId` is refused, as Athena's
 * query would fail on it.
 */
async function readRecords(options: Omit<S3PlanOptions, 'targetBytes'>): Promise<{
  committed: Set<string>;
  replaced: Set<string>;
  expired: Set<string>;
  ignored: string[];
}> {
  const prefix = `${ingestRecordsPrefix}${options.source}/`;
  const nowMs = (options.now ?? (() => new Date()))().getTime();
  const committed = new Set<string>();
  const replaced = new Set<string>();
  const expired = new Set<string>();
  const ignored: string[] = [];
  for (const { key } of await listObjects(options, prefix)) {
    const below = key.slice(ingestRecordsPrefix.length);
    if (below.split('/').some((part) => part.startsWith('_') || part.startsWith('.'))) continue;
    const tail = key.slice(prefix.length);
    const ingestId = ingestRecordTail.exec(tail)?.[1];
    if (ingestId !== undefined) {
      committed.add(ingestId);
      continue;
    }
    const compactionId = compactionRecordTail.exec(tail)?.[1];
    if (compactionId === undefined && !legacyRecordTail.test(tail)) {
      ignored.push(key);
      continue;
    }
    const record = await readRecord(options, key);
    if (compactionId !== undefined && record.ingestId !== compactionId) {
      ignored.push(key); // a compaction record names its own id; this one is not what it seems
      continue;
    }
    committed.add(record.ingestId);
    if (compactionId === undefined || !isCompactionRecord(record)) continue;
    // An unreadable keepUntil keeps the objects: deleting early could fail a running query.
    const keptUntilMs = Date.parse(record.keepUntil);
    // An entity delete's replaced objects hold erased rows: a plain delete would keep them in a
    // noncurrent version, so they are left for the delete's rerun, which removes every version.
    const erased = (record as { reason?: unknown }).reason === 'entity-delete';
    for (const gone of record.replaces) {
      replaced.add(gone);
      if (keptUntilMs <= nowMs && !erased) expired.add(gone);
    }
  }
  return { committed, replaced, expired, ignored };
}

async function readRecord(
  options: Omit<S3PlanOptions, 'targetBytes'>,
  key: string,
): Promise<{ ingestId: string }> {
  const where = `s3://${options.bucket}/${key}`;
  let text: string;
  try {
    const response = await options.s3.send(
      new GetObjectCommand({ Bucket: options.bucket, Key: key }),
    );
    text = (await response.Body?.transformToString()) ?? '';
  } catch (error) {
    throw explainS3Error(error, options, `reading the ingest record ${where}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const id = (parsed as { ingestId?: unknown } | undefined)?.ingestId;
  if (typeof id !== 'string' || id.length === 0)
    throw new S3CompactionPlanError(
      `the ingest record ${where} is not a JSON object with an "ingestId"; Athena's queries of source "${options.source}" fail on it too, so nothing is planned`,
      `restore the record's previous version (the bucket is versioned), or move it out of ${ingestRecordsPrefix}${options.source}/ if it is not a record`,
    );
  return parsed as { ingestId: string };
}

/** Every object under `prefix`, through all pages of ListObjectsV2. */
async function listObjects(
  options: Omit<S3PlanOptions, 'targetBytes'>,
  prefix: string,
): Promise<S3DataObject[]> {
  const objects = await listS3Objects(options.s3, options.bucket, prefix, (error, doing) =>
    error === undefined
      ? new S3CompactionPlanError(
          `${doing} answered a truncated page without a continuation token; the listing would be incomplete, so nothing is planned`,
          'try again; if it persists, the endpoint (AWS_ENDPOINT_URL_S3) does not speak ListObjectsV2 as S3 does',
        )
      : explainS3Error(error, options, doing),
  );
  return objects.map(({ key, bytes }) => ({ key, bytes }));
}

function explainS3Error(
  error: unknown,
  options: { readonly bucket: string; readonly region: string; readonly source: string },
  doing: string,
): Error {
  const name = error instanceof Error ? error.name : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const bucketArn = `arn:${partitionOfRegion(options.region)}:s3:::${options.bucket}`;
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403)
    return new S3CompactionPlanError(
      `access denied ${doing} (to plan the compaction of source "${options.source}")`,
      `the caller needs s3:ListBucket on ${bucketArn} and s3:GetObject on ${bucketArn}/offline/* (fstore iam-policy --for training allows both)`,
      { cause: error },
    );
  if (name === 'NoSuchBucket')
    return new S3CompactionPlanError(
      `bucket ${options.bucket} does not exist (${doing})`,
      'pass the OfflineBucketName output of the stack with --bucket, in the right account and region',
      { cause: error },
    );
  return new S3CompactionPlanError(`${doing} failed: ${message}`, undefined, { cause: error });
}

import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { formatMicros } from '../epoch-micros.ts';
import { HintedError } from '../hinted-error.ts';
import { quoteIdentifier, timestampText } from '../sql/dialect.ts';
import { epochDayOfPartition, partitionOfPath } from './dt-partition.ts';
import { ingestIdOfObjectPath } from './ingest-records.ts';
import { retentionBoundary } from './retention-boundary.ts';
import type { RetentionPin } from './retention-pins.ts';
import { readS3CommittedSources } from './s3-committed-ingests.ts';
import { planS3Compaction, readableObjectKeys } from './s3-compact-plan.ts';
import { compactionLockKey } from './s3-compact-record.ts';
import { acquireS3Lock, defaultLeaseMs } from './s3-lock.ts';
import { deleteEveryVersion } from './s3-object-versions.ts';
import type { rewriteS3Objects } from './s3-rewrite-objects.ts';

/** Named explicitly: bundles are minified, which renames classes. */
export class S3RetentionError extends HintedError {
  override name = 'S3RetentionError';
}

export interface S3RetentionOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly source: string;
  /** The source's data prefix, `offline/<source>/`. */
  readonly prefix: string;
  readonly retentionSeconds: number;
  readonly nowMicros: bigint;
  /**
   * Snapshot pins (any source's; those of this source count): rows with `fstore_seq` at or below
   * one are kept unless `force` (see below). A function is read once the lock is held, so a
   * snapshot made while another run held it is seen.
   */
  readonly pins: readonly RetentionPin[] | (() => Promise<readonly RetentionPin[]>);
  readonly force?: boolean;
  readonly dryRun?: boolean;
  readonly leaseMs?: number;
  /**
   * Wait this long for the source's lock when another holds it (an ingest's commit or a
   * snapshot create hold it briefly; a compaction or delete longer), then refuse (busy). Default 0.
   */
  readonly lockWaitMs?: number;
  readonly lockPollMs?: number;
  /** Told once when the run starts waiting for the lock, naming its holder. */
  readonly onLockWait?: (message: string) => void;
  readonly now?: () => Date;
  /**
   * Also rewrite the boundary day's partition without its rows older than the boundary, under
   * the same lock and one commit record (rewriteS3Objects, passed in: it needs DuckDB, which the
   * scheduled function's bundle does not carry). Absent: the boundary day is kept whole.
   */
  readonly boundaryRewrite?: {
    readonly rewrite: typeof rewriteS3Objects;
    readonly region: string;
    /** The source's event-time column. */
    readonly timestampField: string;
    readonly workDir?: string;
  };
}

export interface S3SourceRetention {
  readonly source: string;
  /** Rows with event time before this instant are past the retention. */
  readonly boundary: string;
  /** `dt=YYYY-MM-DD` partitions deleted whole (every day before the boundary's day). */
  readonly partitionsDeleted: readonly string[];
  readonly objectsDeleted: number;
  readonly bytesFreed: number;
  readonly dryRun: boolean;
  /** With `boundaryRewrite`: rows older than the boundary left out of the boundary day's objects. */
  readonly boundaryRowsDeleted?: number;
  readonly boundaryObjectsRewritten?: number;
  /** Objects of the deleted days kept whole because they hold rows a snapshot pins. */
  readonly objectsKept: number;
  /**
   * Objects of the deleted days no commit record named when the run read them, uploaded less
   * than a day ago: an ingest that may still commit (after this run: its rows stay until the
   * next). Older ones are a killed ingest's leftovers and are deleted.
   */
  readonly uncommittedKept: number;
  /**
   * With `boundaryRewrite`: objects a committed compaction record replaced, past its keepUntil,
   * still there (a rewrite killed before it deleted them), deleted with every version.
   */
  readonly replacedObjectsDeleted?: number;
  /** The snapshots whose pins kept rows past the retention (not with `force`). */
  readonly keptFor: readonly string[];
  /** With `force`: the snapshots whose pinned rows were deleted (they no longer reproduce). */
  readonly pinnedBy: readonly string[];
}

/** An upload no commit record names is a leftover once this old (an ingest commits well before). */
const leftoverAgeMs = 24 * 3_600_000;

/** DeleteObjects takes at most 1,000 keys. */
const deleteBatch = 1000;

/**
 * Retention of one source in an AWS environment, by whole `dt` partitions: every object right
 * under `<prefix>dt=<day>/` of a day before the boundary's day is deleted (all its rows are
 * older, as `dt` is the event time's UTC day). The boundary day's partition is kept whole until
 * it is wholly past, so on S3 rows stay up to a day longer than the retention: the safe side of
 * the TTL rule (the offline store holds more than any online item serves, never less). Objects
 * the commit records (read before the listing) name go, and uploads no record names once a day
 * old (killed ingests' leftovers); a deleted object is no longer listed, so no
 * query reads it (a query that listed it just before fails and is run again). The bucket is
 * versioned: a delete leaves a noncurrent version, which the bucket's lifecycle rule expires
 * (SecureBucket, `expire-noncurrent-versions`).
 *
 * Runs under the source's compaction lock, so no compaction or push ingest merges objects of
 * those partitions meanwhile, no snapshot is made between the read of `pins` and the last delete
 * (createS3Snapshot takes the lock), and no `fstore ingest --env` commits (its commit waits for
 * the lock): an ingest uploading meanwhile keeps its objects and commits after. A snapshot pins every row of the source with `fstore_seq` up to
 * its pin; unless `force`, those rows stay, as locally (lib/offline/retention.ts): an object
 * whose rows are all pinned is kept, one holding pinned and unpinned rows (its ingest's seq range
 * straddles the pin, or a compaction merged it) is written again with only the pinned rows when
 * the boundary rewrite is given, else kept whole; the result names the snapshots (`keptFor`).
 * Seq ranges come from the commit records.
 * DeleteObjects answers per-key errors with HTTP 200:
 * any is thrown naming the keys (the run is safe to repeat; what was deleted stays deleted).
 */
export async function applyS3Retention(options: S3RetentionOptions): Promise<S3SourceRetention> {
  const boundary = retentionBoundary(options.nowMicros, options.retentionSeconds);
  const boundaryIso = new Date(Number(boundary / 1000n)).toISOString();
  const boundaryDay = epochDayOfPartition(boundaryIso.slice(0, 10));
  const lock = options.dryRun
    ? undefined
    : await acquireS3Lock({
        s3: options.s3,
        bucket: options.bucket,
        key: compactionLockKey(options.source),
        purpose: `the retention of source "${options.source}"`,
        leaseMs: options.leaseMs ?? defaultLeaseMs,
        ...(options.lockWaitMs !== undefined ? { waitMs: options.lockWaitMs } : {}),
        ...(options.lockPollMs !== undefined ? { pollMs: options.lockPollMs } : {}),
        ...(options.onLockWait ? { onWait: options.onLockWait } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
  try {
    const pins = typeof options.pins === 'function' ? await options.pins() : options.pins;
    // A snapshot pinning seq 0 of the source (nothing committed when it was made) pins no row.
    const pinned = pins.filter((p) => p.source === options.source && p.throughSeq > 0n);
    const keepThrough =
      pinned.length > 0 && !options.force
        ? pinned.reduce((max, p) => (p.throughSeq > max ? p.throughSeq : max), 0n)
        : undefined;
    // Read before the listing: an object committed after this read (a backfill's, whose commit
    // waited for the lock) is not deleted by this run; an upload no record names is deleted only
    // once it is a day old (a killed ingest's leftover, not one still committing).
    // A run killed after committing its boundary rewrite left the objects it replaced (and
    // their versions, holding the older rows): no reader reads them; delete every version now.
    const leftBehind =
      options.boundaryRewrite && lock
        ? await deleteReplacedObjects(options, options.boundaryRewrite.region)
        : 0;
    const records = await objectSeqRanges(options);
    const seqRanges = keepThrough === undefined ? undefined : records;
    const leftoverBefore = (options.now?.() ?? new Date()).getTime() - leftoverAgeMs;
    const old: { key: string; bytes: number; partition: string }[] = [];
    const kept: string[] = [];
    const straddling: string[] = [];
    let uncommittedKept = 0;
    for (const object of await listAll(options)) {
      const relative = object.key.slice(options.prefix.length);
      if (relative.split('/').length !== 2) continue;
      const day = partitionOfPath(relative);
      if (day === undefined || epochDayOfPartition(day) >= boundaryDay) continue;
      const range = records.rangeOf(object.key);
      const named =
        range !== undefined || records.merged.has(object.key) || records.replaced.has(object.key);
      if (!named && (object.modified?.getTime() ?? 0) > leftoverBefore) {
        uncommittedKept++;
        continue;
      }
      // No record names it (a leftover, or a replaced object): no pinned read takes rows from it.
      const read = seqRanges && (range !== undefined || seqRanges.merged.has(object.key));
      if (keepThrough !== undefined && read) {
        if (range && range.last <= keepThrough) {
          kept.push(object.key);
          continue;
        }
        if (!range || range.first <= keepThrough) {
          if (options.boundaryRewrite) straddling.push(object.key);
          else kept.push(object.key);
          continue;
        }
      }
      old.push({ ...object, partition: `dt=${day}` });
    }
    if (!options.dryRun)
      for (let start = 0; start < old.length; start += deleteBatch) {
        // A renewal now (If-Match on our ETag) proves the lock is still ours: the signal alone
        // learns of a takeover only at the next periodic renewal, after deletes it should stop.
        await lock?.confirm();
        await deleteKeys(
          options,
          old.slice(start, start + deleteBatch).map((o) => o.key),
        );
      }
    const rowFilter = (timestampField: string) =>
      // As the local retention: a NULL event time is not older, so it stays; pinned rows stay.
      `(${quoteIdentifier(timestampField)} < TIMESTAMP '${timestampText(formatMicros(boundary))}') IS NOT TRUE${keepThrough !== undefined ? ` OR "fstore_seq" <= ${keepThrough}` : ''}`;
    const atBoundary =
      options.boundaryRewrite && lock && !options.dryRun
        ? await options.boundaryRewrite.rewrite({
            s3: options.s3,
            bucket: options.bucket,
            region: options.boundaryRewrite.region,
            source: options.source,
            prefix: options.prefix,
            lock,
            rewrites: [
              ...[
                ...(await readableObjectKeys({
                  ...options,
                  region: options.boundaryRewrite.region,
                })),
              ].filter((key) => key.startsWith(`${options.prefix}dt=${boundaryIso.slice(0, 10)}/`)),
              ...straddling,
            ]
              .sort()
              .map((key) => ({
                key,
                keep: rowFilter(options.boundaryRewrite?.timestampField ?? ''),
              })),
            remove: [],
            reason: 'retention',
            faultPrefix: 'retention',
            ...(options.boundaryRewrite.workDir
              ? { workDir: options.boundaryRewrite.workDir }
              : {}),
            ...(options.now ? { now: options.now } : {}),
          })
        : undefined;
    return {
      source: options.source,
      boundary: boundaryIso,
      ...(atBoundary
        ? {
            boundaryRowsDeleted: atBoundary.rowsRemoved,
            boundaryObjectsRewritten: atBoundary.objectsRewritten,
          }
        : {}),
      partitionsDeleted: [...new Set(old.map((o) => o.partition))].sort(),
      objectsDeleted: old.length,
      bytesFreed: old.reduce((n, o) => n + o.bytes, 0),
      dryRun: options.dryRun === true,
      objectsKept: kept.length,
      uncommittedKept,
      ...(options.boundaryRewrite && lock ? { replacedObjectsDeleted: leftBehind } : {}),
      keptFor:
        kept.length + straddling.length > 0
          ? [...new Set(pinned.map((p) => p.snapshot))].sort()
          : [],
      pinnedBy: options.force ? [...new Set(pinned.map((p) => p.snapshot))].sort() : [],
    };
  } finally {
    await lock?.release();
  }
}

/**
 * Deletes every version of the objects committed compaction records replaced whose keepUntil
 * has passed (planS3Compaction's `expiredReplaced`): a retention or compaction rewrite's own
 * record keeps them for no reader (keepUntil is its commit time), so these are what a run
 * killed between its commit and its deletes left; a compaction's are past their keeping time.
 * An entity delete's are its rerun's (planS3Compaction leaves them out).
 */
async function deleteReplacedObjects(options: S3RetentionOptions, region: string): Promise<number> {
  const plan = await planS3Compaction({
    s3: options.s3,
    bucket: options.bucket,
    region,
    source: options.source,
    prefix: options.prefix,
    targetBytes: 1,
    ...(options.now ? { now: options.now } : {}),
  });
  const keys = plan.expiredReplaced.map((o) => o.key);
  if (keys.length === 0) return 0;
  return (await deleteEveryVersion({ s3: options.s3, bucket: options.bucket, keys })).objects;
}

/**
 * Per data object a commit record names, the `fstore_seq` range of its rows: an ingest's record
 * gives its objects `firstSeq`..`firstSeq + rows - 1` (records before the commit rule name no
 * objects: their ingest id is in the key). A compaction's merged objects hold rows of several
 * ingests, their seqs unknown without reading them: `merged`, no range.
 */
async function objectSeqRanges(options: S3RetentionOptions): Promise<{
  rangeOf: (key: string) => { first: bigint; last: bigint } | undefined;
  merged: ReadonlySet<string>;
  replaced: ReadonlySet<string>;
}> {
  const committed = (
    await readS3CommittedSources(options.s3, options.bucket, [options.source])
  ).get(options.source);
  const ranges = new Map<string, { first: bigint; last: bigint }>();
  const byId = new Map<string, { first: bigint; last: bigint }>();
  for (const ingest of committed?.ingests ?? []) {
    const range = {
      first: BigInt(ingest.firstSeq),
      last: BigInt(ingest.firstSeq) + BigInt(ingest.rows) - 1n,
    };
    byId.set(ingest.ingestId, range);
    for (const key of ingest.files ?? []) ranges.set(key, range);
  }
  const replaced = new Set(committed?.compactions.flatMap((c) => c.replaces) ?? []);
  const merged = new Set(
    (committed?.compactions.flatMap((c) => c.files) ?? []).filter((key) => !replaced.has(key)),
  );
  return {
    rangeOf: (key) => {
      if (replaced.has(key)) return undefined;
      const id = ingestIdOfObjectPath(key);
      return ranges.get(key) ?? (id !== undefined ? byId.get(id) : undefined);
    },
    merged,
    replaced,
  };
}

async function listAll(
  options: S3RetentionOptions,
): Promise<{ key: string; bytes: number; modified?: Date }[]> {
  const found: { key: string; bytes: number; modified?: Date }[] = [];
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await options.s3.send(
      new ListObjectsV2Command({
        Bucket: options.bucket,
        Prefix: `${options.prefix}dt=`,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? [])
      if (object.Key?.startsWith(options.prefix))
        found.push({
          key: object.Key,
          bytes: object.Size ?? 0,
          ...(object.LastModified ? { modified: object.LastModified } : {}),
        });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (page.IsTruncated && !token)
      throw new S3RetentionError(
        `listing s3://${options.bucket}/${options.prefix}dt= answered a truncated page without a continuation token; nothing more is deleted`,
        'run again; if it persists, the endpoint does not speak ListObjectsV2 as S3 does',
      );
  } while (token);
  return found;
}

async function deleteKeys(options: S3RetentionOptions, keys: readonly string[]): Promise<void> {
  const answer = await options.s3.send(
    new DeleteObjectsCommand({
      Bucket: options.bucket,
      Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
    }),
  );
  const errors = answer.Errors ?? [];
  if (errors.length === 0) return;
  const named = errors
    .slice(0, 10)
    .map((e) => `${e.Key} (${e.Code}: ${e.Message})`)
    .join(', ');
  throw new S3RetentionError(
    `S3 kept ${errors.length} of ${keys.length} objects of "${options.source}" it was asked to delete: ${named}${errors.length > 10 ? ', ...' : ''}`,
    'the next run deletes them; if the code is AccessDenied, the retention role lacks s3:DeleteObject on the offline prefix',
  );
}

import { mkdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { faultPoint } from '../fault-injection.ts';
import { quoteLiteral } from '../sql/dialect.ts';
import { mergeableGroups } from './compact-plan.ts';
import { refuseRowCountChange } from './compact-row-count.ts';
import { openDuckdb } from './duckdb-session.ts';
import { newDataFilesId } from './ingest-manifest.ts';
import { CommitOutcomeUnknownError } from './ingest-target.ts';
import { writeSizedFiles } from './parquet-layout.ts';
import { putCommitRecord } from './s3-commit-record.ts';
import {
  planS3Compaction,
  S3CompactionPlanError,
  type S3DataObject,
  type S3PlanOptions,
  type S3SourcePlan,
} from './s3-compact-plan.ts';
import {
  compactionLockKey,
  compactionRecordKey,
  type S3CompactionRecord,
} from './s3-compact-record.ts';
import { acquireS3Lock, defaultLeaseMs, type S3Lock } from './s3-lock.ts';
import { discardUploads, putParquetFile } from './s3-parquet-uploads.ts';
import { makeWorkFolder, removeStaleWorkFolders, removeWorkFolder } from './work-folders.ts';

export interface S3CompactOptions extends S3PlanOptions {
  /** How long the replaced objects stay after the commit (they are deleted later, not here). */
  readonly keepReplacedMs: number;
  /** A stop request: honoured up to the commit, which it never splits. */
  readonly signal?: AbortSignal;
  /** Where objects are downloaded and merged (default the OS temporary folder). */
  readonly workDir?: string;
  /** The source's compaction lock: its lease (default 5 minutes), renewed every third of it. */
  readonly leaseMs?: number;
  readonly renewEveryMs?: number;
  /** Take the lock over from this owner even before its lease expires (`--break-lock`). */
  readonly breakLockOwner?: string;
  /**
   * Runs under the lock before the plan is made: the ingest of pushed rows Firehose staged
   * (ADR 0016), so one lock covers both and the merge sees what it committed.
   */
  readonly beforePlan?: (held: {
    readonly lock: S3Lock;
    readonly signal: AbortSignal;
  }) => Promise<void>;
}

export interface S3Merge {
  readonly partition: string;
  readonly replaced: readonly S3DataObject[];
  readonly merged: readonly S3DataObject[];
}

export interface S3CompactionResult {
  readonly plan: S3SourcePlan;
  /** Absent when nothing was merged (no record written). */
  readonly record?: S3CompactionRecord;
  readonly merges: readonly S3Merge[];
  /** Objects earlier compactions replaced, deleted now that their `keepUntil` has passed. */
  readonly deletedReplaced: number;
  /** The owner id this run held the source's lock under. */
  readonly lockOwner: string;
}

/**
 * Merges the small committed objects of each `dt` partition of one source, under the ingest
 * commit rule (ADR 0008): plan from the listings, download each group's objects, merge those
 * with the same columns with DuckDB (`ORDER BY fstore_seq`, row count checked), upload the merged
 * objects as `<compactionId>-<n>.parquet` (no record names that id yet, so no reader reads them),
 * then ONE PutObject of the compaction record commits. Any failure before the commit deletes
 * what was uploaded; a commit whose outcome is unknown keeps it (it may be committed). The
 * replaced objects are not deleted here: readers that listed them before the commit still read
 * them until `keepUntil`.
 *
 * One run per source at a time: the whole run holds the source's lock
 * (`offline/_ingests/<source>/compactions/_lock.json`, lib/offline/s3-lock.ts), a lease renewed
 * while it works. A run that loses it stops, removes its uploads and commits nothing; the lease
 * is confirmed (renewed with `If-Match`) right before the commit record is written.
 */
export async function compactS3Source(options: S3CompactOptions): Promise<S3CompactionResult> {
  // A run cut off by a Lambda hard timeout left its folder in /tmp, which a warm container keeps.
  await removeStaleWorkFolders(options.workDir ?? tmpdir(), workFolderPrefix);
  const lock = await acquireS3Lock({
    s3: options.s3,
    bucket: options.bucket,
    key: compactionLockKey(options.source),
    purpose: `the compaction of source "${options.source}"`,
    leaseMs: options.leaseMs ?? defaultLeaseMs,
    ...(options.renewEveryMs !== undefined ? { renewEveryMs: options.renewEveryMs } : {}),
    ...(options.breakLockOwner !== undefined ? { breakOwner: options.breakLockOwner } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const signal = options.signal ? AbortSignal.any([options.signal, lock.signal]) : lock.signal;
  try {
    await options.beforePlan?.({ lock, signal });
    return { ...(await compactLocked({ ...options, signal }, lock)), lockOwner: lock.holder.owner };
  } finally {
    await lock.release();
  }
}

/** A merge's folder is `<prefix><pid>-<random>` (work-folders.ts), to tell a killed process's. */
const workFolderPrefix = 'fstore-compact-';

async function compactLocked(
  options: S3CompactOptions & { readonly signal: AbortSignal },
  lock: S3Lock,
): Promise<Omit<S3CompactionResult, 'lockOwner'>> {
  const plan = await planS3Compaction(options);
  options.signal.throwIfAborted();
  const deletedReplaced = await deleteExpired(options, plan.expiredReplaced);
  if (plan.groups.length === 0) return { plan, merges: [], deletedReplaced };
  const now = options.now ?? (() => new Date());
  const compactionId = newDataFilesId(now());
  const work = await makeWorkFolder(options.workDir ?? tmpdir(), workFolderPrefix);
  const session = await openDuckdb();
  const uploaded: string[] = [];
  let outcomeUnknown = false;
  try {
    const merges: S3Merge[] = [];
    for (const [index, group] of plan.groups.entries()) {
      options.signal.throwIfAborted();
      const local = await download(options, group.objects, path.join(work, `in-${index}`));
      let n = 0;
      for (const [k, same] of (
        await mergeableGroups(session.connection, [...local.keys()])
      ).entries()) {
        const written = await mergeFiles(
          session.connection,
          same,
          path.join(work, `out-${index}-${k}`),
          compactionId,
          options.targetBytes,
        );
        await refuseRowCountChange(
          session.connection,
          { source: options.source, partition: group.partition, files: same },
          written,
        );
        const merged: S3DataObject[] = [];
        for (const file of written) {
          const key = `${options.prefix}${group.partition}/${compactionId}-${n++}.parquet`;
          options.signal.throwIfAborted(); // a lost lease or a stop: upload nothing more
          await putParquetFile(options.s3, options.bucket, key, file);
          uploaded.push(key);
          faultPoint('compact:s3-after-upload');
          merged.push({ key, bytes: (await stat(file)).size });
        }
        const replaced = same.map((file) => local.get(file) as S3DataObject);
        merges.push({ partition: group.partition, replaced, merged });
      }
    }
    if (merges.length === 0) return { plan, merges, deletedReplaced };
    options.signal.throwIfAborted();
    // A second line of defence behind the lock: a run that held an expired lease unknowingly.
    await refuseIfReplacedMeanwhile(options, merges);
    await lock.confirm();
    faultPoint('compact:before-commit');
    const at = now();
    const record: S3CompactionRecord = {
      kind: 'compaction',
      ingestId: compactionId,
      source: options.source,
      at: at.toISOString(),
      keepUntil: new Date(at.getTime() + options.keepReplacedMs).toISOString(),
      files: merges.flatMap((m) => m.merged.map((o) => o.key)),
      replaces: merges.flatMap((m) => m.replaced.map((o) => o.key)),
    };
    try {
      await commit(options, record);
    } catch (error) {
      outcomeUnknown = error instanceof CommitOutcomeUnknownError;
      throw error;
    }
    return { plan, record, merges, deletedReplaced };
  } catch (error) {
    if (!outcomeUnknown) await discardUploads(options.s3, options.bucket, uploaded);
    throw error;
  } finally {
    session.close();
    await removeWorkFolder(work);
  }
}

/**
 * Behind the lock, in case two runs held it at once (a holder paused past its lease, say, by a
 * frozen laptop, then resumed): another `compact` of the source may have committed while this
 * one merged. Its record would replace objects this one replaces too, and both merged copies
 * would be read. So the plan is read again just before the commit, and every object this
 * compaction replaces must still be one readers read.
 */
async function refuseIfReplacedMeanwhile(
  options: S3CompactOptions,
  merges: readonly S3Merge[],
): Promise<void> {
  const current = await planS3Compaction(options);
  const readable = new Set(current.groups.flatMap((g) => g.objects.map((o) => o.key)));
  const gone = merges.flatMap((m) => m.replaced).filter((o) => !readable.has(o.key));
  if (gone.length > 0)
    throw new S3CompactionPlanError(
      `${gone.length} object(s) this compaction of source "${options.source}" merged are no longer read (first: s3://${options.bucket}/${gone[0]?.key}): another compaction committed meanwhile; nothing was committed and this run's uploads are removed`,
      'run fstore compact again',
    );
}

/** Downloads `objects` into `dir`; the local path of each, to the object it holds. */
async function download(
  options: S3CompactOptions,
  objects: readonly S3DataObject[],
  dir: string,
): Promise<Map<string, S3DataObject>> {
  await mkdir(dir, { recursive: true });
  const local = new Map<string, S3DataObject>();
  for (const object of objects) {
    options.signal?.throwIfAborted();
    const response = await options.s3.send(
      new GetObjectCommand({ Bucket: options.bucket, Key: object.key }),
    );
    // Each object is below the target size, so holding one in memory is bounded by it.
    const bytes = await response.Body?.transformToByteArray();
    if (!bytes)
      throw new Error(`s3://${options.bucket}/${object.key} answered no body; nothing was merged`);
    const file = path.join(dir, path.posix.basename(object.key));
    await writeFile(file, bytes);
    local.set(file, object);
  }
  return local;
}

async function mergeFiles(
  connection: DuckDBConnection,
  files: readonly string[],
  dir: string,
  id: string,
  targetBytes: number,
): Promise<string[]> {
  return writeSizedFiles(connection, {
    select: `SELECT * FROM read_parquet([${files.map(quoteLiteral).join(', ')}], hive_partitioning = false)`,
    orderBy: 'fstore_seq',
    dir,
    id,
    targetBytes,
  });
}

/** The commit: one PutObject of the record (putCommitRecord: an unknown outcome keeps the uploads). */
async function commit(options: S3CompactOptions, record: S3CompactionRecord): Promise<void> {
  await putCommitRecord(
    options.s3,
    options.bucket,
    compactionRecordKey(record.source, record.ingestId),
    record,
    'its merged objects are kept. Run compact again: if the record landed, the replaced objects are skipped and nothing is merged twice; otherwise the kept objects stay unread',
  );
}

/**
 * Deletes replaced objects whose keeping time is over. Their compaction's record still names
 * them in `replaces`, which is harmless: readers skip a key that no longer exists anyway.
 */
async function deleteExpired(
  options: S3CompactOptions,
  objects: readonly S3DataObject[],
): Promise<number> {
  for (let start = 0; start < objects.length; start += 1000) {
    options.signal?.throwIfAborted();
    const batch = objects.slice(start, start + 1000).map((o) => ({ Key: o.key }));
    const response = await options.s3.send(
      new DeleteObjectsCommand({ Bucket: options.bucket, Delete: { Objects: batch, Quiet: true } }),
    );
    const failed = response.Errors ?? [];
    if (failed.length > 0)
      throw new Error(
        `deleting ${failed.length} replaced object(s) of source "${options.source}" in s3://${options.bucket} failed (first: ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message}); nothing was merged, and the objects stay skipped by readers`,
      );
  }
  return objects.length;
}

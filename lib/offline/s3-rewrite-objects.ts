import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { faultPoint } from '../fault-injection.ts';
import { HintedError } from '../hinted-error.ts';
import { quoteLiteral } from '../sql/dialect.ts';
import { type DuckdbSession, openDuckdb, queryRows } from './duckdb-session.ts';
import { newDataFilesId } from './ingest-manifest.ts';
import { CommitOutcomeUnknownError } from './ingest-target.ts';
import { putCommitRecord } from './s3-commit-record.ts';
import { readableObjectKeys, S3CompactionPlanError } from './s3-compact-plan.ts';
import { compactionRecordKey, type S3CompactionRecord } from './s3-compact-record.ts';
import type { S3Lock } from './s3-lock.ts';
import { deleteEveryVersion } from './s3-object-versions.ts';
import { discardUploads, putParquetFile } from './s3-parquet-uploads.ts';
import { makeWorkFolder, removeWorkFolder } from './work-folders.ts';

/**
 * One committed object to write again with only the rows `keep` holds: a SQL predicate (DuckDB),
 * or one made from the object's own columns (an older object may lack a column of the source).
 */
export interface S3ObjectRewrite {
  readonly key: string;
  readonly keep: string | ((columns: ReadonlySet<string>) => string);
  /**
   * How many rows `keep` must leave out (the count Athena found): another number is refused,
   * naming the object, before anything of the source is committed.
   */
  readonly rows?: number;
}

/** Named explicitly: bundles are minified, which renames classes. */
export class S3RewriteMismatchError extends HintedError {
  override name = 'S3RewriteMismatchError';
}

export interface S3RewriteOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly region: string;
  readonly source: string;
  /** The source's data prefix, `offline/<source>/`. */
  readonly prefix: string;
  /** The source's compaction lock, held by the caller for the whole run. */
  readonly lock: S3Lock;
  readonly signal?: AbortSignal;
  /** Objects readers read now, to write again without some rows. */
  readonly rewrites: readonly S3ObjectRewrite[];
  /** Objects a committed compaction replaced (no reader reads them) to delete for good, unread. */
  readonly remove: readonly string[];
  /**
   * Objects no record names (an ingest's before its record, or one killed): each written again
   * AT THE SAME KEY without the rows (`If-Match` its read ETag), then its older versions deleted.
   * Never deleted: an ingest may still commit it, and its other rows would be lost.
   */
  readonly rewriteInPlace?: readonly S3ObjectRewrite[];
  /** Why, written in the commit record (`entity-delete`, `retention`). */
  readonly reason: string;
  /**
   * Fault points are `<faultPrefix>:s3-after-upload`, `:s3-after-commit`, `:s3-mid-delete`, and
   * `:s3-after-in-place-upload` (a `rewriteInPlace` object written, its older versions not yet deleted).
   */
  readonly faultPrefix: string;
  readonly workDir?: string;
  readonly now?: () => Date;
  /** Passed to deleteEveryVersion (tests: 0 and 1). */
  readonly backoffMs?: number;
  readonly deleteBatchSize?: number;
}

export interface S3RewriteResult {
  /** Absent when no committed object was rewritten (nothing to commit). */
  readonly record?: S3CompactionRecord;
  /** Rows left out of the rewritten objects. */
  readonly rowsRemoved: number;
  readonly objectsRewritten: number;
  /** Objects of `rewriteInPlace` written again at their key (those with a row to leave out). */
  readonly objectsRewrittenInPlace: number;
  /** Objects deleted for good (rewritten ones and `remove`), and how many versions they had. */
  readonly objectsDeleted: number;
  readonly versionsDeleted: number;
}

/** An object's folder is `<prefix><pid>-<random>` (work-folders.ts). */
const workFolderPrefix = 'fstore-rewrite-';

/**
 * Writes committed objects of one source again without some rows, under the commit rule of an
 * S3 compaction (ADR 0008), and deletes the old ones for good. For each object: download, keep
 * the rows `keep` holds with DuckDB (same columns, same `fstore_seq`, in `fstore_seq` order),
 * upload as `<rewriteId>-<n>.parquet` in the same `dt` folder (an object left with no row is
 * not written; one with no row to leave out is left as it is); then ONE commit record (a compaction record: `files` the new objects, `replaces`
 * the old), after which readers read the new objects instead; then every version of the old
 * objects and of `remove` is deleted (deleteEveryVersion: the bucket is versioned). Before all
 * that, each `rewriteInPlace` object (no record names it) is written again at its own key.
 *
 * A crash before the commit leaves unread uploads (no record names their id) and changes no
 * reader; after it, the old objects are replaced and unread, still holding the rows until a rerun
 * finds them (they are still in the Glue table) and deletes them. The caller holds the source's
 * compaction lock; its lease is confirmed right before the commit, and the objects to rewrite
 * must still be read then (else another writer replaced them: nothing is committed).
 */
export async function rewriteS3Objects(options: S3RewriteOptions): Promise<S3RewriteResult> {
  const signal = options.signal
    ? AbortSignal.any([options.signal, options.lock.signal])
    : options.lock.signal;
  const now = options.now ?? (() => new Date());
  let record: S3CompactionRecord | undefined;
  let rowsRemoved = 0;
  let replaced: readonly string[] = [];
  // First: a count that does not match here stops the run before anything is committed.
  const inPlace = await rewriteAtSameKeys({ ...options, signal });
  rowsRemoved += inPlace.rowsRemoved;
  if (options.rewrites.length > 0) {
    const written = await writeWithout({ ...options, signal }, now);
    rowsRemoved += written.rowsRemoved;
    record = written.record;
    replaced = written.replaced;
  }
  faultPoint(`${options.faultPrefix}:s3-after-commit`);
  const gone = [...replaced, ...options.remove];
  let batches = 0;
  // Not stopped by a stop request or a lost lease: after the commit no reader reads these
  // objects, and deleting them is what is left of the run (a rerun would do it otherwise).
  const deleted = await deleteEveryVersion({
    s3: options.s3,
    bucket: options.bucket,
    keys: gone,
    ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
    ...(options.deleteBatchSize !== undefined ? { batchSize: options.deleteBatchSize } : {}),
    afterBatch: () => {
      if (++batches === 1) faultPoint(`${options.faultPrefix}:s3-mid-delete`);
    },
  });
  return {
    ...(record ? { record } : {}),
    rowsRemoved,
    objectsRewritten: replaced.length,
    objectsRewrittenInPlace: inPlace.objects,
    objectsDeleted: deleted.objects,
    versionsDeleted: deleted.versions + inPlace.versionsDeleted,
  };
}

async function writeWithout(
  options: S3RewriteOptions & { readonly signal: AbortSignal },
  now: () => Date,
): Promise<{ record?: S3CompactionRecord; rowsRemoved: number; replaced: string[] }> {
  const rewriteId = newDataFilesId(now());
  const replaced: string[] = [];
  const work = await makeWorkFolder(options.workDir ?? tmpdir(), workFolderPrefix);
  const session = await openDuckdb();
  const uploaded: string[] = [];
  let outcomeUnknown = false;
  let rowsRemoved = 0;
  try {
    for (const [n, rewrite] of options.rewrites.entries()) {
      options.signal.throwIfAborted();
      const { key } = rewrite;
      const input = path.join(work, `in-${n}.parquet`);
      await writeFile(input, (await download(options, key)).bytes);
      const { total, kept, copy } = await filterObject(options, session, input, rewrite);
      // An object with no row to leave out stays as it is: not replaced, not deleted.
      if (kept === total) continue;
      rowsRemoved += total - kept;
      replaced.push(key);
      if (kept === 0) continue;
      const output = path.join(work, `out-${n}.parquet`);
      await copy(output);
      const newKey = `${path.posix.dirname(key)}/${rewriteId}-${uploaded.length}.parquet`;
      options.signal.throwIfAborted(); // a lost lease or a stop: upload nothing more
      await upload(options, newKey, output);
      uploaded.push(newKey);
      faultPoint(`${options.faultPrefix}:s3-after-upload`);
    }
    if (replaced.length === 0) return { rowsRemoved, replaced };
    options.signal.throwIfAborted();
    await refuseIfNoLongerRead(options, replaced);
    await options.lock.confirm();
    const at = now();
    const record: S3CompactionRecord & { readonly reason: string } = {
      kind: 'compaction',
      ingestId: rewriteId,
      source: options.source,
      at: at.toISOString(),
      // Nothing is kept for late readers: the old objects hold rows that must go now.
      keepUntil: at.toISOString(),
      files: uploaded,
      replaces: replaced,
      reason: options.reason,
    };
    try {
      await putCommitRecord(
        options.s3,
        options.bucket,
        compactionRecordKey(options.source, rewriteId),
        record,
        'its rewritten objects are kept. Run the same command again: if the record landed, the old objects are found unread and deleted; otherwise they are rewritten again',
      );
    } catch (error) {
      outcomeUnknown = error instanceof CommitOutcomeUnknownError;
      throw error;
    }
    return { record, rowsRemoved, replaced };
  } catch (error) {
    if (!outcomeUnknown) await discardUploads(options.s3, options.bucket, uploaded);
    throw error;
  } finally {
    session.close();
    await removeWorkFolder(work);
  }
}

/**
 * How many rows the downloaded object `input` holds and `keep` keeps (a count other than the
 * rewrite's `rows` is refused), and how to write the kept ones (`ORDER BY fstore_seq`) to a file.
 */
async function filterObject(
  options: S3RewriteOptions,
  session: DuckdbSession,
  input: string,
  { key, keep: keepOf, rows }: S3ObjectRewrite,
): Promise<{ total: number; kept: number; copy: (output: string) => Promise<void> }> {
  const read = `read_parquet(${quoteLiteral(input)}, hive_partitioning = false)`;
  const keep =
    typeof keepOf === 'string'
      ? keepOf
      : keepOf(
          new Set(
            (await queryRows(session.connection, `DESCRIBE SELECT * FROM ${read}`)).map((c) =>
              String(c.column_name),
            ),
          ),
        );
  const [counts] = await queryRows(
    session.connection,
    `SELECT count(*)::BIGINT AS total, (count(*) FILTER (WHERE ${keep}))::BIGINT AS kept FROM ${read}`,
  );
  const total = Number(counts?.total ?? 0);
  const kept = Number(counts?.kept ?? 0);
  if (rows !== undefined && total - kept !== rows)
    throw new S3RewriteMismatchError(
      `s3://${options.bucket}/${key} holds ${rows} row(s) to leave out by the count given (Athena's), but the filter built from the object's own columns leaves out ${total - kept} of its ${total}; nothing of source "${options.source}" was committed`,
      "compare the object's key columns (name, case, type) with the source's schema (a column written under another name or type is not matched), fix or move the object, then run the same command again",
    );
  return {
    total,
    kept,
    copy: async (output) => {
      await session.connection.run(
        `COPY (SELECT * FROM ${read} WHERE ${keep} ORDER BY fstore_seq) TO ${quoteLiteral(output)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    },
  };
}

/**
 * The `rewriteInPlace` objects, one at a time: download (with its ETag), leave out the rows,
 * PutObject at the same key `If-Match` that ETag (an object changed meanwhile is refused, naming
 * it), then delete its older versions, which still hold the rows (the current one stays).
 */
async function rewriteAtSameKeys(
  options: S3RewriteOptions & { readonly signal: AbortSignal },
): Promise<{ rowsRemoved: number; objects: number; versionsDeleted: number }> {
  const done = { rowsRemoved: 0, objects: 0, versionsDeleted: 0 };
  if (!options.rewriteInPlace?.length) return done;
  const work = await makeWorkFolder(options.workDir ?? tmpdir(), workFolderPrefix);
  const session = await openDuckdb();
  try {
    for (const [n, rewrite] of options.rewriteInPlace.entries()) {
      options.signal.throwIfAborted();
      const input = path.join(work, `same-in-${n}.parquet`);
      const { bytes, etag } = await download(options, rewrite.key);
      await writeFile(input, bytes);
      const { total, kept, copy } = await filterObject(options, session, input, rewrite);
      if (kept === total) continue;
      const output = path.join(work, `same-out-${n}.parquet`);
      await copy(output); // no row kept: an object with the columns and no row
      await upload(options, rewrite.key, output, etag);
      faultPoint(`${options.faultPrefix}:s3-after-in-place-upload`);
      done.rowsRemoved += total - kept;
      done.objects += 1;
      const older = await deleteEveryVersion({
        s3: options.s3,
        bucket: options.bucket,
        keys: [rewrite.key],
        keepCurrent: true,
        ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
      });
      done.versionsDeleted += older.versions;
    }
    return done;
  } finally {
    session.close();
    await removeWorkFolder(work);
  }
}

async function download(
  options: S3RewriteOptions,
  key: string,
): Promise<{ bytes: Uint8Array; etag?: string }> {
  const response = await options.s3.send(
    new GetObjectCommand({ Bucket: options.bucket, Key: key }),
  );
  const bytes = await response.Body?.transformToByteArray();
  if (!bytes)
    throw new Error(`s3://${options.bucket}/${key} answered no body; nothing was rewritten`);
  return { bytes, ...(response.ETag ? { etag: response.ETag } : {}) };
}

/** `ifMatch`: replace the object only if it is still the version read (412 otherwise). */
async function upload(
  options: S3RewriteOptions,
  key: string,
  file: string,
  ifMatch?: string,
): Promise<void> {
  try {
    await putParquetFile(options.s3, options.bucket, key, file, ifMatch);
  } catch (error) {
    if (ifMatch && (error as { name?: string }).name === 'PreconditionFailed')
      throw new S3RewriteMismatchError(
        `s3://${options.bucket}/${key} changed while it was being written again without the rows; it was left as the other writer left it`,
        'run the same command again',
        { cause: error },
      );
    throw error;
  }
}

/** Behind the lock: every object rewritten must still be one readers read at the commit. */
async function refuseIfNoLongerRead(
  options: S3RewriteOptions,
  replaced: readonly string[],
): Promise<void> {
  const readable = await readableObjectKeys(options);
  const gone = replaced.filter((key) => !readable.has(key));
  if (gone.length > 0)
    throw new S3CompactionPlanError(
      `${gone.length} object(s) of source "${options.source}" this run rewrote are no longer read (first: s3://${options.bucket}/${gone[0]}): another writer replaced them meanwhile; nothing was committed and this run's uploads are removed`,
      'run the same command again',
    );
}

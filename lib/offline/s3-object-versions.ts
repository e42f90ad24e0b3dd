import {
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { HintedError } from '../hinted-error.ts';

/** Named explicitly: bundles are minified, which renames classes. */
export class S3VersionDeleteError extends HintedError {
  override name = 'S3VersionDeleteError';
}

export interface DeleteVersionsOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Exact object keys: every version and delete marker of each goes. */
  readonly keys: readonly string[];
  readonly signal?: AbortSignal;
  /** Pause before retrying versions S3 answered SlowDown or a 5xx code for (default 200 ms, doubling). */
  readonly backoffMs?: number;
  /**
   * Keep each key's current version, deleting only the older ones and delete markers: for an
   * object just written again without some rows, whose earlier versions still hold them.
   */
  readonly keepCurrent?: boolean;
  /** Versions per DeleteObjects (default and most 1,000; crash tests use 1). */
  readonly batchSize?: number;
  /** Called after each DeleteObjects batch (a fault point of the caller's). */
  readonly afterBatch?: () => void;
}

interface VersionRef {
  readonly Key: string;
  readonly VersionId: string;
}

/** DeleteObjects takes at most 1,000 entries. */
const deleteBatch = 1000;
const attempts = 5;
/** Per-key codes S3 answers inside an HTTP 200 DeleteObjects that a later try may clear. */
const retryable = new Set(['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout']);

/**
 * Deletes `keys` from a versioned bucket for good: every version and delete marker of each key
 * (ListObjectVersions through every page, exact key matches only), by VersionId. A plain delete
 * would only add a delete marker and the data would stay in a noncurrent version. The noncurrent
 * versions go first, the current ones last: a run cut short leaves each key's current version
 * while anything of it is left, so a query that finds the key (Athena's `"$path"`) leads a rerun
 * back to it. Versions S3 answers SlowDown or an internal error for are retried with backoff;
 * any other per-key error (AccessDenied) throws naming the versions kept; those deleted stay
 * deleted and a rerun deletes the rest.
 */
export async function deleteEveryVersion(
  options: DeleteVersionsOptions,
): Promise<{ objects: number; versions: number }> {
  const noncurrent: VersionRef[] = [];
  const current: VersionRef[] = [];
  let objects = 0;
  for (const key of new Set(options.keys)) {
    options.signal?.throwIfAborted();
    const found = await versionsOf(options, key);
    if (found.length > 0) objects += 1;
    for (const version of found)
      (version.current ? current : noncurrent).push({ Key: key, VersionId: version.id });
  }
  if (options.keepCurrent) current.length = 0;
  const size = Math.min(deleteBatch, Math.max(1, options.batchSize ?? deleteBatch));
  for (const phase of [noncurrent, current])
    for (let start = 0; start < phase.length; start += size) {
      options.signal?.throwIfAborted();
      await deleteBatchWithRetries(options, phase.slice(start, start + size));
      options.afterBatch?.();
    }
  return { objects, versions: noncurrent.length + current.length };
}

async function versionsOf(
  options: DeleteVersionsOptions,
  key: string,
): Promise<{ id: string; current: boolean }[]> {
  const found: { id: string; current: boolean }[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page: ListObjectVersionsCommandOutput = await options.s3.send(
      new ListObjectVersionsCommand({
        Bucket: options.bucket,
        Prefix: key,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(versionMarker !== undefined ? { VersionIdMarker: versionMarker } : {}),
      }),
    );
    for (const v of page.Versions ?? [])
      if (v.Key === key && v.VersionId)
        found.push({ id: v.VersionId, current: v.IsLatest === true });
    // A delete marker holds no data: it goes with the noncurrent versions.
    for (const m of page.DeleteMarkers ?? [])
      if (m.Key === key && m.VersionId) found.push({ id: m.VersionId, current: false });
    if (!page.IsTruncated) return found;
    if (page.NextKeyMarker === undefined)
      throw new S3VersionDeleteError(
        `listing the versions of s3://${options.bucket}/${key} answered a truncated page without a next marker; nothing of it was deleted, as some versions would be missed`,
        'run again; if it persists, the endpoint does not speak ListObjectVersions as S3 does',
      );
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
}

async function deleteBatchWithRetries(
  options: DeleteVersionsOptions,
  batch: readonly VersionRef[],
): Promise<void> {
  let pending = [...batch];
  let pause = options.backoffMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    const answer = await options.s3.send(
      new DeleteObjectsCommand({
        Bucket: options.bucket,
        Delete: { Objects: pending, Quiet: true },
      }),
    );
    const errors = answer.Errors ?? [];
    if (errors.length === 0) return;
    const lasting = errors.filter((e) => !retryable.has(e.Code ?? ''));
    if (lasting.length > 0 || attempt === attempts) {
      const named = (lasting.length > 0 ? lasting : errors)
        .slice(0, 10)
        .map((e) => `${e.Key} version ${e.VersionId} (${e.Code}: ${e.Message})`)
        .join(', ');
      throw new S3VersionDeleteError(
        `S3 kept ${errors.length} of ${pending.length} object versions it was asked to delete in s3://${options.bucket}: ${named}${errors.length > 10 ? ', ...' : ''}`,
        'run the same command again: what was deleted stays deleted and the rest is found again. AccessDenied: the caller needs s3:ListBucketVersions and s3:DeleteObjectVersion (the erasure operator policy allows them)',
      );
    }
    const again = new Set(errors.map((e) => `${e.Key}\n${e.VersionId}`));
    pending = pending.filter((v) => again.has(`${v.Key}\n${v.VersionId}`));
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause *= 2;
  }
}

import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { inParallel } from '../bounded-pool.ts';
import type { RetentionPin } from './retention-pins.ts';
import { compactionLockKey } from './s3-compact-record.ts';
import { listS3Keys, truncatedListing } from './s3-list-keys.ts';
import { acquireS3Lock, defaultLeaseMs, type S3Lock } from './s3-lock.ts';
import { type CommittedSeq, seqFromJson } from './seq-pins.ts';
import {
  checkSnapshotName,
  checkSnapshotWanted,
  newSnapshot,
  noSuchSnapshot,
  type Snapshot,
  SnapshotError,
  type SnapshotWanted,
  s3SnapshotsPrefix,
  snapshotNameTaken,
  snapshotSchema,
} from './snapshot-format.ts';

/** Where an AWS environment's snapshots are (defined beside the record, free of the AWS SDK). */
export { s3SnapshotsPrefix } from './snapshot-format.ts';

/** The object of snapshot `name` (a valid name, else a SnapshotError). */
export function s3SnapshotKey(name: string): string {
  checkSnapshotName(name);
  return `${s3SnapshotsPrefix}${name}.json`;
}

/** The offline bucket of one AWS environment, where its snapshots are stored. */
export interface S3SnapshotStore {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Named in messages only. */
  readonly env: string;
}

const snapshotKeyPattern = /^_fstore\/snapshots\/([a-z][a-z0-9_]{0,62})\.json$/;
const snapshotReads = 16;

/**
 * Every snapshot of the environment, oldest first (then by name): one listing (all pages) and
 * one GetObject per snapshot. Keys not named like a snapshot are ignored; a snapshot deleted
 * between the listing and its read is left out; a damaged one is refused naming its key.
 */
export async function listS3Snapshots(store: S3SnapshotStore): Promise<Snapshot[]> {
  const names = await listSnapshotNames(store);
  const found: Snapshot[] = [];
  await inParallel(names, snapshotReads, async (name) => {
    const snapshot = await readSnapshot(store, name);
    if (snapshot) found.push(snapshot);
  });
  return found.sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name),
  );
}

/** The snapshot called `name`, or a SnapshotError naming the ones there are. */
export async function findS3Snapshot(store: S3SnapshotStore, name: string): Promise<Snapshot> {
  checkSnapshotName(name);
  const found = await readSnapshot(store, name);
  if (found) return found;
  throw noSuchSnapshot(store.env, name, await listSnapshotNames(store));
}

/** How a snapshot create takes the compaction locks of its sources. */
export interface SnapshotLocking {
  /** Wait this long for each lock a retention, compaction or delete holds (default 0: refuse). */
  readonly waitMs?: number;
  readonly pollMs?: number;
  readonly onWait?: (message: string) => void;
  /** Take a lock over from this owner (`--break-lock`), as compaction does. */
  readonly breakOwner?: string;
  readonly now?: () => Date;
}

/**
 * Pins what the commit records say is committed now of `wanted.sources` under a new name, with
 * one conditional PutObject (`If-None-Match: *`): of two creates of one name, S3 lets one win and
 * the other is refused as a taken name. Refuses a bad name and an environment with nothing
 * ingested before anything is written.
 *
 * Holds the compaction lock of every source it pins (in name order) from its read of the commit
 * records until its object is written: the scheduled retention holds the same lock from its read
 * of the snapshots to its last delete, so a snapshot is either seen by a run or made after the
 * run's deletes, and never pins rows a run deletes unseen (issue 19). A held lock is waited for
 * up to `locking.waitMs`, then refused naming its holder.
 */
export async function createS3Snapshot(
  store: S3SnapshotStore,
  wanted: SnapshotWanted,
  committed: (sources: readonly string[]) => Promise<ReadonlyMap<string, CommittedSeq>>,
  locking: SnapshotLocking = {},
): Promise<Snapshot> {
  checkSnapshotWanted(wanted);
  if (await readSnapshot(store, wanted.name)) throw snapshotNameTaken(store.env, wanted.name);
  const locks: S3Lock[] = [];
  try {
    for (const source of [...new Set(wanted.sources)].sort())
      locks.push(
        await acquireS3Lock({
          s3: store.s3,
          bucket: store.bucket,
          key: compactionLockKey(source),
          purpose: `the snapshot "${wanted.name}" of source "${source}"`,
          leaseMs: defaultLeaseMs,
          ...(locking.waitMs !== undefined ? { waitMs: locking.waitMs } : {}),
          ...(locking.pollMs !== undefined ? { pollMs: locking.pollMs } : {}),
          ...(locking.onWait ? { onWait: locking.onWait } : {}),
          ...(locking.breakOwner !== undefined ? { breakOwner: locking.breakOwner } : {}),
          ...(locking.now ? { now: locking.now } : {}),
        }),
      );
    const snapshot = await writeSnapshot(store, wanted, committed);
    // A lease lost meanwhile (taken over with --break-lock) means a run may have deleted rows
    // this snapshot pins: take the snapshot back rather than leave it for training sets to read.
    try {
      for (const lock of locks) await lock.confirm();
    } catch (error) {
      throw await withdrawnSnapshot(store, wanted.name, error);
    }
    return snapshot;
  } finally {
    for (const lock of locks.reverse()) await lock.release();
  }
}

/** Deletes the snapshot `name` just written under a lost lock; the error says what became of it. */
async function withdrawnSnapshot(
  store: S3SnapshotStore,
  name: string,
  lost: unknown,
): Promise<SnapshotError> {
  const key = s3SnapshotKey(name);
  const why = lost instanceof Error ? lost.message : String(lost);
  try {
    await store.s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: key }));
  } catch (error) {
    return new SnapshotError(
      `the snapshot "${name}" may pin rows another run deleted (its lock was lost: ${why}), and removing s3://${store.bucket}/${key} failed: ${(error as Error).message}`,
      `remove it (fstore snapshot delete --env ${store.env} --name ${name} --bucket ${store.bucket}), then create it again once that run has finished`,
      { cause: lost },
    );
  }
  return new SnapshotError(
    `the snapshot "${name}" was not kept: its lock was lost before it was confirmed (${why}), so a run holding it may delete rows it pins`,
    'create it again once that run has finished',
    { cause: lost },
  );
}

async function writeSnapshot(
  store: S3SnapshotStore,
  wanted: SnapshotWanted,
  committed: (sources: readonly string[]) => Promise<ReadonlyMap<string, CommittedSeq>>,
): Promise<Snapshot> {
  const key = s3SnapshotKey(wanted.name);
  const seqs = await committed(wanted.sources);
  if (![...seqs.values()].some((seq) => seq.ingestIds.length > 0))
    throw new SnapshotError(
      `environment "${store.env}" has no ingested data to snapshot in s3://${store.bucket} (${wanted.sources.join(', ')})`,
      'ingest first: fstore ingest --env <env> --source <name> --file <path>',
    );
  const snapshot = newSnapshot(wanted, seqs);
  try {
    await store.s3.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: key,
        Body: `${JSON.stringify(snapshot, null, 2)}\n`,
        ContentType: 'application/json',
        IfNoneMatch: '*',
      }),
    );
  } catch (error) {
    // 412: the object exists; 409: a concurrent conditional write of the same key is under way.
    const status = httpStatusOf(error);
    if (status === 412 || status === 409) throw snapshotNameTaken(store.env, wanted.name);
    throw s3Failure(error, `writing s3://${store.bucket}/${key}`);
  }
  return snapshot;
}

/** Removes the snapshot `name` (a SnapshotError when there is none), returning it. */
export async function deleteS3Snapshot(store: S3SnapshotStore, name: string): Promise<Snapshot> {
  const found = await findS3Snapshot(store, name);
  const key = s3SnapshotKey(name);
  try {
    await store.s3.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: key }));
  } catch (error) {
    throw s3Failure(error, `deleting s3://${store.bucket}/${key}`);
  }
  return found;
}

/** The pins of the environment's snapshots, one per snapshot and source (what retention keeps). */
export async function s3SnapshotPins(store: S3SnapshotStore): Promise<RetentionPin[]> {
  return (await listS3Snapshots(store)).flatMap((snapshot) =>
    Object.entries(snapshot.sources).map(([source, seq]) => ({
      snapshot: snapshot.name,
      source,
      throughSeq: seqFromJson(seq.maxSeq),
    })),
  );
}

async function listSnapshotNames(store: S3SnapshotStore): Promise<string[]> {
  const keys = await listS3Keys(store.s3, store.bucket, s3SnapshotsPrefix, s3Failure);
  return keys.flatMap((key) => snapshotKeyPattern.exec(key)?.[1] ?? []);
}

/** The snapshot `name`, undefined when its object does not exist. */
async function readSnapshot(store: S3SnapshotStore, name: string): Promise<Snapshot | undefined> {
  const key = s3SnapshotKey(name);
  const where = `s3://${store.bucket}/${key}`;
  let text: string;
  try {
    const response = await store.s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
    text = (await response.Body?.transformToString()) ?? '';
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || httpStatusOf(error) === 404) return undefined;
    throw s3Failure(error, `reading ${where}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const result = snapshotSchema.safeParse(parsed);
  if (!result.success || result.data.name !== name)
    throw new SnapshotError(
      `the snapshot ${where} is damaged: ${result.success ? `it names "${result.data.name}"` : result.error.issues[0]?.path.join('.') || 'not JSON'}`,
      `restore its previous version (the bucket is versioned), or remove the object: aws s3 rm ${where}`,
    );
  return result.data;
}

function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function s3Failure(error: unknown, doing: string): SnapshotError {
  if (error === undefined)
    return new SnapshotError(
      `${doing} ${truncatedListing}`,
      'run again; if it persists, the endpoint does not speak ListObjectsV2 as S3 does',
    );
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const throttled =
    name === 'SlowDown' || name === 'ThrottlingException' || httpStatusOf(error) === 503;
  return new SnapshotError(
    `${doing} failed: ${name}: ${message}`,
    throttled
      ? 'S3 is throttling the bucket (after the SDK’s retries): run again in a minute'
      : `the caller needs s3:ListBucket, and s3:GetObject/PutObject/DeleteObject on ${s3SnapshotsPrefix}*`,
    { cause: error },
  );
}

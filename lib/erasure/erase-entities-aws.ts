import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { faultPoint } from '../fault-injection.ts';
import { HintedError } from '../hinted-error.ts';
import type { AthenaQueryRunner } from '../offline/athena-query-runner.ts';
import { s3ObjectStates } from '../offline/s3-compact-plan.ts';
import { compactionLockKey } from '../offline/s3-compact-record.ts';
import { acquireS3Lock, defaultLeaseMs } from '../offline/s3-lock.ts';
import { rewriteS3Objects } from '../offline/s3-rewrite-objects.ts';
import { listS3Snapshots } from '../offline/s3-snapshots.ts';
import type { Registry, RegistrySource } from '../registry/index.ts';
import {
  type ObjectHoldingKeys,
  objectsHoldingKeys,
  splitByCommitted,
} from './athena-objects-holding-keys.ts';
import { auditKeyHashScheme, hashErasureKeys } from './audit-key-hash.ts';
import { awsErasureAuditPrefix } from './audit-prefix.ts';
import { currentUser } from './erasure-audit.ts';
import { affectedSources, type ErasureKey, keyColumnsOf, matchPredicate } from './erasure-keys.ts';
import { type MaterializationWait, withMaterializationLeases } from './materialization-leases.ts';
import { eraseOnlineItems, type ViewErasure } from './online-erasure.ts';
import type { QuarantineErasure } from './quarantine-erasure.ts';
import {
  clearInPlaceJournal,
  settleInPlaceJournal,
  writeInPlaceJournal,
} from './s3-in-place-journal.ts';
import { eraseS3QuarantinedRows } from './s3-quarantine-erasure.ts';
import { eraseStagedPushRows, type StagedPushErasure } from './s3-staged-push-erasure.ts';
import { snapshotsHoldingRows } from './snapshots-holding-rows.ts';

/** Named explicitly: bundles are minified, which renames classes. */
export class AwsErasureError extends HintedError {
  override name = 'AwsErasureError';
}

export interface AwsEraseOptions {
  readonly registry: Registry;
  readonly env: string;
  readonly keys: readonly ErasureKey[];
  readonly s3: S3Client;
  readonly bucket: string;
  readonly region: string;
  /** Athena in the environment's workgroup, over its Glue database. */
  readonly athena: { readonly runner: AthenaQueryRunner; readonly database: string };
  readonly online: { readonly client: DynamoDBClient; readonly table: string };
  /** The environment's audit secret (AuditKeySecretArn): the audit keeps HMACs of the keys. */
  readonly auditSecret: Uint8Array;
  /** Count only, with Athena and reads: nothing changed, no audit entry. */
  readonly dryRun?: boolean;
  /** A stop request: honoured between steps, never inside a source's commit. */
  readonly signal?: AbortSignal;
  readonly leaseMs?: number;
  /** Take each source's compaction lock over from this owner before its lease ends (`--break-lock`). */
  readonly breakLockOwner?: string;
  readonly workDir?: string;
  readonly now?: () => Date;
  readonly backoffMs?: number;
  /** Object versions per DeleteObjects (crash tests: 1, to stop between two). */
  readonly deleteBatchSize?: number;
  /**
   * How long to wait in all for running materializations of the affected views before the
   * online step gives up naming the holder (default 5 minutes, a materialization's lease).
   */
  readonly materializationWaitMs?: number;
  /** Between two tries of a held lease (default 2 s). */
  readonly materializationPollMs?: number;
  /** Called each time a held materialization lease makes the delete wait. */
  readonly onMaterializationWait?: (wait: MaterializationWait) => void;
}

/** What the delete did (or would do) to one source's objects. */
export interface AwsSourceErasure {
  readonly source: string;
  /** Rows of the keys found by Athena in the objects below. */
  readonly rows: number;
  /** Objects readers read that held them, written again without them under one commit. */
  readonly files: number;
  /** Objects a compaction replaced (no reader reads them) that held them, deleted. */
  readonly replacedFiles: number;
  /**
   * Objects no record names yet (an ingest's in flight, or one killed) that held them, written
   * again at the same key without them: never deleted, an ingest may still commit them.
   */
  readonly uncommittedFiles: number;
  /** The commit record of the rewrite (absent when nothing was rewritten, or a dry run). */
  readonly commit?: string;
  /** Object versions deleted for good (absent for a dry run). */
  readonly versionsDeleted?: number;
}

/** The audit entry of an AWS delete, as written to the bucket: hashed keys and counts only. */
export interface AwsErasureAuditEntry {
  readonly kind: 'entity-delete';
  readonly at: string;
  readonly who: string;
  readonly env: string;
  readonly keyHash: typeof auditKeyHashScheme;
  readonly keys: readonly { readonly key: string; readonly hash: string }[];
  readonly offline: readonly AwsSourceErasure[];
  /** Pushed rows outside the offline store: staged, set aside, or refused by Firehose. */
  readonly staged: readonly StagedPushErasure[];
  readonly quarantine: readonly QuarantineErasure[];
  readonly online: readonly ViewErasure[];
  /**
   * Snapshots pinning a source at or above the smallest `fstore_seq` of its deleted rows (the
   * local rule): training sets read as of them no longer reproduce exactly.
   */
  readonly snapshotsAffected: readonly string[];
}

export interface AwsEraseResult extends Omit<AwsErasureAuditEntry, 'kind'> {
  readonly dryRun: boolean;
  /** `s3://<bucket>/_fstore/audit/deletes/<time>-<id>.json` (absent for a dry run). */
  readonly auditObject?: string;
}

/**
 * Removes every row and item of `keys` from an AWS environment, in an order a rerun after a
 * crash at any point completes (each step finds what is left of the keys):
 * 1. per source with a column of a key (affectedSources), under its S3 compaction lock: Athena
 *    names the objects holding the keys by `"$path"`; those readers read (readableObjectKeys) are
 *    written again without the rows and committed with one record (rewriteS3Objects), those a
 *    compaction replaced deleted, and those no record names (an ingest's not committed yet: S3
 *    ingests take no lock) written again at the same key, named first in a journal a rerun
 *    settles (s3-in-place-journal.ts); every older version of them goes; then the pushed rows
 *    still staged or refused by Firehose (eraseStagedPushRows), every version;
 * 2. quarantined rows under `quarantine/`, every version (eraseS3QuarantinedRows);
 * 3. online items of every view in the environment's table (eraseOnlineItems), holding the
 *    materialization lease of each online view of an affected source (withMaterializationLeases);
 * 4. one audit entry `_fstore/audit/deletes/<time>-<id>.json` (keys as HMAC-SHA256 under the
 *    environment's audit secret, never the values), naming the snapshots that held the rows: in
 *    step 1 each source with rows lists `_fstore/snapshots/` under its lock (a snapshot create
 *    takes it too), so a snapshot is either listed or made after the rows left.
 * There are no running totals on AWS (training sets compute windows in Athena); the tiles pushes
 * write for `onlineTiles` views are online items, deleted in step 3. Fault point `delete:aws-before-online`
 * sits between 1-2 and 3, besides rewriteS3Objects' own (`delete:s3-after-upload`, ...).
 * A dry run asks Athena and reads the quarantine and the table; it changes nothing.
 */
export async function eraseEntitiesOnAws(options: AwsEraseOptions): Promise<AwsEraseResult> {
  const dryRun = options.dryRun === true;
  const now = options.now ?? (() => new Date());
  // Hashed first: a bad secret stops the delete before anything changes.
  const keys = hashErasureKeys(options.keys, options.auditSecret);
  const offline: AwsSourceErasure[] = [];
  const staged: StagedPushErasure[] = [];
  const snapshotsAffected = new Set<string>();
  for (const source of affectedSources(options.registry, options.keys)) {
    options.signal?.throwIfAborted();
    const erased = dryRun ? await countSource(options, source) : await eraseSource(options, source);
    offline.push(erased.offline);
    staged.push(erased.staged);
    for (const name of erased.snapshots) snapshotsAffected.add(name);
  }
  options.signal?.throwIfAborted();
  const quarantine = await eraseS3QuarantinedRows({
    s3: options.s3,
    bucket: options.bucket,
    keys: options.keys,
    dryRun,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
  });
  if (!dryRun) faultPoint('delete:aws-before-online');
  const eraseItems = () =>
    eraseOnlineItems(options.online.client, options.online.table, options.keys, dryRun);
  // Held while the items go: a materialization that read the rows before the offline commit
  // writes them back before this, not after.
  const online = dryRun
    ? await eraseItems()
    : await withMaterializationLeases(
        {
          client: options.online.client,
          table: options.online.table,
          registry: options.registry,
          sources: new Set(affectedSources(options.registry, options.keys).map((s) => s.name)),
          owner: `delete-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
          leaseMs: options.leaseMs ?? defaultLeaseMs,
          maxWaitMs: options.materializationWaitMs ?? 5 * 60_000,
          ...(options.materializationPollMs !== undefined
            ? { pollMs: options.materializationPollMs }
            : {}),
          ...(options.onMaterializationWait ? { onWait: options.onMaterializationWait } : {}),
        },
        eraseItems,
      );
  const at = now();
  const entry: AwsErasureAuditEntry = {
    kind: 'entity-delete',
    at: at.toISOString(),
    who: currentUser(),
    env: options.env,
    keyHash: auditKeyHashScheme,
    keys,
    offline,
    staged,
    quarantine,
    online,
    snapshotsAffected: [...snapshotsAffected],
  };
  const { kind: _kind, ...summary } = entry;
  if (dryRun) return { ...summary, dryRun };
  const key = `${awsErasureAuditPrefix}${at.toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}.json`;
  await options.s3.send(
    new PutObjectCommand({
      Bucket: options.bucket,
      Key: key,
      Body: `${JSON.stringify(entry)}\n`,
      ContentType: 'application/json',
      IfNoneMatch: '*',
    }),
  );
  return { ...summary, dryRun, auditObject: `s3://${options.bucket}/${key}` };
}

/** The predicate true for rows holding a key, from the columns an object (or the table) has. */
function holdsKeys(source: RegistrySource, keys: readonly ErasureKey[]) {
  return (columns: ReadonlySet<string>) =>
    matchPredicate(keys, keyColumnsOf(source, keys), columns);
}

/** Staged pushed rows of `source` (eraseStagedPushRows), under its compaction lock unless a dry run. */
function eraseStaged(options: AwsEraseOptions, source: RegistrySource, dryRun: boolean) {
  return eraseStagedPushRows({
    s3: options.s3,
    bucket: options.bucket,
    source,
    keys: options.keys,
    dryRun,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.workDir ? { workDir: options.workDir } : {}),
    ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
  });
}

/** One source's part of the delete, and the snapshots that held its rows. */
interface SourceOutcome {
  readonly offline: AwsSourceErasure;
  readonly staged: StagedPushErasure;
  readonly snapshots: readonly string[];
}

/** The snapshots holding the rows `found` of `source` (no listing when there are none). */
async function snapshotsHolding(
  options: AwsEraseOptions,
  source: RegistrySource,
  found: readonly ObjectHoldingKeys[],
): Promise<string[]> {
  if (!found.some((o) => o.rows > 0)) return [];
  const snapshots = await listS3Snapshots({
    s3: options.s3,
    bucket: options.bucket,
    env: options.env,
  });
  return snapshotsHoldingRows(snapshots, source.name, found);
}

async function countSource(
  options: AwsEraseOptions,
  source: RegistrySource,
): Promise<SourceOutcome> {
  const found = await objectsHoldingKeys(
    options.athena.runner,
    options.athena.database,
    source,
    options.keys,
    options.signal,
  );
  // Athena alone (no S3 listing): every object holding them counts as one to rewrite.
  return {
    offline: {
      source: source.name,
      rows: found.reduce((n, o) => n + o.rows, 0),
      files: found.length,
      replacedFiles: 0,
      uncommittedFiles: 0,
    },
    staged: await eraseStaged(options, source, true),
    snapshots: await snapshotsHolding(options, source, found),
  };
}

async function eraseSource(
  options: AwsEraseOptions,
  source: RegistrySource,
): Promise<SourceOutcome> {
  const prefix = source.offline.s3Prefix;
  const lock = await acquireS3Lock({
    s3: options.s3,
    bucket: options.bucket,
    key: compactionLockKey(source.name),
    purpose: `the entity delete of source "${source.name}"`,
    leaseMs: options.leaseMs ?? defaultLeaseMs,
    ...(options.breakLockOwner !== undefined ? { breakOwner: options.breakLockOwner } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const journal = {
    s3: options.s3,
    bucket: options.bucket,
    source: source.name,
    ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
  };
  try {
    // A run killed after writing objects at their key left their older versions (holding the
    // rows) and a journal naming them: Athena no longer finds the key there, the journal does.
    const settled = await settleInPlaceJournal(journal);
    // Under the lock: no compaction moves rows between what Athena finds and the rewrite.
    const found = await objectsHoldingKeys(
      options.athena.runner,
      options.athena.database,
      source,
      options.keys,
      options.signal,
    );
    const outside = found.filter((o) => !o.key.startsWith(prefix));
    if (outside.length > 0)
      throw new AwsErasureError(
        `Athena found rows of the keys in ${outside.length} object(s) of source "${source.name}" outside its prefix s3://${options.bucket}/${prefix} (first: ${outside[0]?.key}); nothing of this source was changed`,
        'the Glue table reads another location than the registry names: deploy this registry (cdk deploy), then run the same delete again',
      );
    // Before any change: a damaged snapshot (or no right to read them) changes nothing here.
    const snapshots = await snapshotsHolding(options, source, found);
    const { readable, replaced } = await s3ObjectStates({
      s3: options.s3,
      bucket: options.bucket,
      region: options.region,
      source: source.name,
      prefix,
    });
    const { rewrite, remove, rewriteInPlace } = splitByCommitted(found, readable, replaced);
    const present = holdsKeys(source, options.keys);
    const keep = (columns: ReadonlySet<string>) => `(${present(columns)}) IS NOT TRUE`;
    if (rewriteInPlace.length > 0)
      await writeInPlaceJournal(
        journal,
        rewriteInPlace.map((o) => o.key),
        (options.now ?? (() => new Date()))(),
      );
    const result = await rewriteS3Objects({
      s3: options.s3,
      bucket: options.bucket,
      region: options.region,
      source: source.name,
      prefix,
      lock,
      ...(options.signal ? { signal: options.signal } : {}),
      // Each with Athena's count: an object the filter misses is refused, not reported as done.
      rewrites: rewrite.map((o) => ({ key: o.key, keep, rows: o.rows })),
      rewriteInPlace: rewriteInPlace.map((o) => ({ key: o.key, keep, rows: o.rows })),
      remove: remove.map((o) => o.key),
      reason: 'entity-delete',
      faultPrefix: 'delete',
      ...(options.workDir ? { workDir: options.workDir } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
      ...(options.deleteBatchSize !== undefined
        ? { deleteBatchSize: options.deleteBatchSize }
        : {}),
    });
    // Their older versions are deleted by now (rewriteS3Objects).
    if (rewriteInPlace.length > 0) await clearInPlaceJournal(journal);
    // Still under the lock: no push ingest folds staged objects while they are written again.
    const staged = await eraseStaged(options, source, false);
    return {
      offline: {
        source: source.name,
        rows: found.reduce((n, o) => n + o.rows, 0),
        files: rewrite.length,
        replacedFiles: remove.length,
        uncommittedFiles: rewriteInPlace.length,
        ...(result.record ? { commit: result.record.ingestId } : {}),
        versionsDeleted: result.versionsDeleted + settled,
      },
      staged,
      snapshots,
    };
  } finally {
    await lock.release();
  }
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { faultPoint } from '../fault-injection.ts';
import {
  pushBatchPrefix,
  pushLedgerPrefix,
  pushRefusedPrefix,
  pushStagingPrefix,
} from '../push/firehose-staging.ts';
import type { Registry } from '../registry/index.ts';
import { openDuckdb } from './duckdb-session.ts';
import { IngestError, type IngestResult, ingestFile } from './ingest.ts';
import { newDataFilesId } from './ingest-manifest.ts';
import { ingestRecordsOfContentPrefix } from './ingest-records.ts';
import { PushIngestRun } from './push-ingest-run.ts';
import { type DeliveredRow, writeStagedBatch } from './push-staged-batch.ts';
import { compactionLockKey } from './s3-compact-record.ts';
import { S3IngestTarget } from './s3-ingest-target.ts';
import { acquireS3Lock, defaultLeaseMs, type S3Lock } from './s3-lock.ts';
import { inArrivalOrder, ledgerExpiryBefore, type StagedObject } from './staged-object-order.ts';
import {
  firstUnreadableParquetFile,
  isUnnamedParquetDamage,
  unreadableParquetFile,
} from './unreadable-parquet.ts';

export interface S3PushIngestOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly registry: Registry;
  readonly source: string;
  /** A stop request: honoured up to the commit, which it never splits. */
  readonly signal?: AbortSignal;
  /**
   * Where the run's folder is made when no `run` is given (default the OS temporary folder):
   * objects are downloaded and the batch written in the run's folder.
   */
  readonly workDir?: string;
  /** Staged objects per batch (default 1,000). */
  readonly maxObjects?: number;
  /**
   * At most this many staged bytes per batch (always at least one object), default 1 GiB: the
   * batch's JSON lines are several times the Parquet and must fit the function's disk.
   */
  readonly maxBatchBytes?: number;
  /**
   * How long a batch's delivered (push id, row) pairs are remembered (default one day), counted
   * back from the oldest staged object waiting (S3 LastModified on both sides).
   */
  readonly ledgerMs?: number;
  readonly leaseMs?: number;
  readonly breakLockOwner?: string;
  readonly now?: () => Date;
  /**
   * The run this batch is part of: its downloads (each staged object fetched once per run) and
   * its count of objects set aside. Default: a run of this one call.
   */
  readonly run?: PushIngestRun;
  /**
   * Whether the run's time is short (the scheduled run: less than its reserve left). Checked
   * before each halving of a refused batch: when true, the batch stays staged (`stopped:
   * 'time'`) for the next run instead of being tried again, which starts from the half noted.
   */
  readonly timeShort?: () => boolean;
}

export interface S3PushIngestResult {
  readonly source: string;
  /** Staged objects this run made part of the offline store (and removed). */
  readonly objects: number;
  /** Rows ingested; duplicates (the same push id and row) were left out. */
  readonly rows: number;
  readonly duplicates: number;
  readonly ingest?: IngestResult;
  /** A batch a killed run left was finished (its commit had landed) or dropped (it had not). */
  readonly recovered?: 'finished' | 'dropped';
  /** A staged object the ingest refused, moved under `pushRefusedPrefix` with its reason. */
  readonly refused?: { readonly key: string; readonly movedTo: string; readonly reason: string };
  /**
   * The batch was cut short to find a refused object, so objects may still wait although fewer
   * than the maximum were taken.
   */
  readonly narrowed?: true;
  /**
   * Why this call took no (more) objects although some wait: `time`, the run's time was short
   * while halving a refused batch; `set-aside-cap`, objects wait but the run already set aside as
   * many as it may (`PushIngestRun.maxSetAside`), so this call took none. Either way the caller
   * stops taking batches of the source.
   */
  readonly stopped?: 'time' | 'set-aside-cap';
}

/**
 * A batch in progress: its staged objects, the sha256 of the batch file ingested from them, and
 * the (push id, row) pairs it holds. Kept as the ledger once committed.
 */
interface BatchManifest {
  readonly batchId: string;
  readonly objects: readonly string[];
  readonly sha256: string;
  readonly delivered: readonly DeliveredRow[];
}

/**
 * Makes the rows Firehose staged for a source (`offline/_push/<source>/`, ADR 0016) part of the
 * offline store, under the source's compaction lock and ingest's commit rule (ADR 0008):
 *
 * 1. The staged objects (oldest first, up to `maxObjects`) are downloaded and written as one
 *    batch file with DuckDB (`writeStagedBatch`): each (push id, row) once, leaving out pairs
 *    an earlier batch delivered (the ledger).
 * 2. A manifest `_batches/<batchId>.json` names the objects, the batch file's sha256 and its
 *    (push id, row) pairs.
 * 3. `ingestFile` into S3 (S3IngestTarget): validation, `<ingestId>-<n>.parquet` under `dt=`,
 *    `fstore_seq` from the clock, ONE record PutObject commits. Before it no reader sees a row.
 * 4. After the commit: the manifest is copied to the ledger `_ledger/<batchId>.json`, then the
 *    staged objects are deleted, then the manifest.
 *
 * A run killed before 3's commit leaves a manifest and every object: the next run finds no
 * record of the batch file (its sha256 and name) and drops the manifest, so the objects wait
 * again. Killed after it, the next run finds the record, or objects already deleted (deletion
 * only follows the commit), and finishes step 4. So each staged row is ingested once.
 */
export async function ingestS3PushStaging(
  options: S3PushIngestOptions,
): Promise<S3PushIngestResult> {
  const lock = await acquireS3Lock({
    s3: options.s3,
    bucket: options.bucket,
    key: compactionLockKey(options.source),
    purpose: `the compaction of source "${options.source}"`,
    leaseMs: options.leaseMs ?? defaultLeaseMs,
    ...(options.breakLockOwner !== undefined ? { breakOwner: options.breakLockOwner } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const signal = options.signal ? AbortSignal.any([options.signal, lock.signal]) : lock.signal;
  try {
    return await ingestS3PushStagingLocked({ ...options, signal }, lock);
  } finally {
    await lock.release();
  }
}

/** The same, under the source's compaction lock the caller holds (compactS3Source's `beforePlan`). */
export async function ingestS3PushStagingLocked(
  options: S3PushIngestOptions & { readonly signal: AbortSignal },
  lock: Pick<S3Lock, 'confirm'>,
): Promise<S3PushIngestResult> {
  if (!options.registry.sources.some((s) => s.name === options.source))
    throw new Error(`internal: source "${options.source}" is not in the registry`);
  const run =
    options.run ??
    (await PushIngestRun.open(options.workDir !== undefined ? { workDir: options.workDir } : {}));
  // In the run's folder, which the next run removes if a hard timeout leaves it.
  const work = await mkdtemp(path.join(run.dir, 'batch-'));
  try {
    const ingest = new StagedPushIngest(options, work, run);
    const left = await ingest.readBatchFolder();
    const recovered = await ingest.recoverLeftBatch(left);
    const result = await ingest.ingestNextBatch(() => lock.confirm(), left);
    return { ...result, ...(recovered ? { recovered } : {}) };
  } finally {
    await rm(work, { recursive: true, force: true });
    if (!options.run) await run.close();
  }
}

class StagedPushIngest {
  private readonly now: () => Date;
  /** Set-aside notes under `_batches/_setting-aside/` (`settingAsideKey`), as listed and since. */
  private readonly settingAside = new Set<string>();

  constructor(
    private readonly options: S3PushIngestOptions & { readonly signal: AbortSignal },
    private readonly work: string,
    private readonly run: PushIngestRun,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  private get source() {
    const found = this.options.registry.sources.find((s) => s.name === this.options.source);
    if (!found) throw new Error(`internal: source "${this.options.source}" is not in the registry`);
    return found;
  }

  /** The keys under `pushBatchPrefix` (listed once per call), keeping its set-aside notes. */
  async readBatchFolder(): Promise<string[]> {
    const keys = (await this.list(pushBatchPrefix(this.options.source))).map((o) => o.key);
    for (const key of keys) if (key.startsWith(this.settingAsidePrefix)) this.settingAside.add(key);
    return keys;
  }

  /** `left`: the keys under `pushBatchPrefix`, a manifest among them if a run was killed. */
  async recoverLeftBatch(left: readonly string[]): Promise<'finished' | 'dropped' | undefined> {
    const key = left.find((k) => this.isManifestKey(k));
    if (!key) return undefined;
    const manifest = JSON.parse(await this.getText(key)) as BatchManifest;
    const staged = new Set((await this.stagedObjects()).map((o) => o.key));
    const allLeft = manifest.objects.every((k) => staged.has(k));
    if (!allLeft || (await this.committed(manifest.batchId, manifest.sha256))) {
      await this.finish(manifest);
      return 'finished';
    }
    await this.deleteKeys([key]);
    return 'dropped';
  }

  /** A batch manifest: `<batchId>.json` right under `pushBatchPrefix` (no note starts so). */
  private isManifestKey(key: string): boolean {
    const name = key.slice(pushBatchPrefix(this.options.source).length);
    return key.startsWith(pushBatchPrefix(this.options.source)) && /^[^_/][^/]*$/.test(name);
  }

  private get settingAsidePrefix(): string {
    return `${pushBatchPrefix(this.options.source)}_setting-aside/`;
  }

  /**
   * Written before a staged object is copied under `_refused/` and deleted once it is deleted
   * from staging: left by a set-aside cut short, it tells `finish` that the object may have a
   * `_refused/` twin to delete, so no finished batch lists `_refused/` to find out.
   */
  private settingAsideKey(stagedKey: string): string {
    return `${this.settingAsidePrefix}${path.posix.basename(stagedKey)}.json`;
  }

  /** Where a halving stopped for time leaves the batch it would have tried next. */
  private get narrowingKey(): string {
    return `${pushBatchPrefix(this.options.source)}${narrowingName}`;
  }

  /**
   * The objects a halving stopped for time would have tried next, when they are still the
   * oldest staged ones in the same order; otherwise (ingested, set aside, an older object put
   * back) the note is stale and deleted, and the call takes the oldest objects as usual.
   */
  private async narrowing(waiting: readonly StagedObject[]): Promise<StagedObject[] | undefined> {
    const note = JSON.parse(await this.getText(this.narrowingKey)) as { keys?: unknown };
    const keys = Array.isArray(note.keys) ? note.keys : [];
    if (keys.length > 0 && keys.every((key, i) => waiting[i]?.key === key))
      return waiting.slice(0, keys.length);
    await this.deleteKeys([this.narrowingKey]);
    return undefined;
  }

  /**
   * Ingests the oldest staged objects as one batch. When the ingest refuses the batch's rows
   * (IngestError: a constraint or type tightened since the push), the batch is halved and tried
   * again, down to the first object alone, which is then moved aside: a refused object no longer
   * blocks every later push, run after run. An object DuckDB names as unreadable is moved aside
   * at once, no halving (which costs about two batch attempts and, paused for time, starts
   * over next run), once a fresh download of it is unreadable too: a copy damaged on this disk
   * must not send a good object aside. Each object is downloaded once per run
   * (`PushIngestRun`); no halving or retry starts when the run's time is short, and no batch once
   * the run has set aside as many objects as it may. A halving stopped for time leaves the half
   * it would have tried next (`narrowingKey`), which the next call takes first: each run gets
   * nearer the refused object, even one with time for a single batch attempt.
   */
  async ingestNextBatch(
    confirmLock: () => Promise<void>,
    left: readonly string[],
  ): Promise<Omit<S3PushIngestResult, 'recovered'>> {
    const waiting = await this.stagedObjects();
    await this.dropSettingAsideNotesOfGone(waiting);
    const noted = left.includes(this.narrowingKey) ? await this.narrowing(waiting) : undefined;
    let staged = firstWithin(
      (noted ?? waiting).slice(0, this.options.maxObjects ?? 1_000),
      this.options.maxBatchBytes ?? defaultMaxBatchBytes,
    );
    const none = { source: this.options.source, objects: 0, rows: 0, duplicates: 0 };
    if (staged.length === 0) return none;
    if (this.run.setAsideCapReached) return { ...none, stopped: 'set-aside-cap' };
    const delivered = await this.delivered(waiting);
    let narrowed = noted !== undefined;
    /** Progress made: the note, if any, names objects no longer staged. */
    const dropNote = async () => {
      if (noted) await this.deleteKeys([this.narrowingKey]);
    };
    const stopForTime = async (next: readonly StagedObject[]) => {
      await this.putText(this.narrowingKey, { keys: next.map((o) => o.key) });
      return { ...none, narrowed: true as const, stopped: 'time' as const };
    };
    const setAside = async (key: string, error: unknown) => {
      await dropNote();
      const refused = await this.setAside(key, error);
      this.run.countSetAside();
      await this.run.forget([key]);
      // Not `stopped` even at the cap: only the next call knows whether anything still waits.
      return { ...none, refused, narrowed: true as const };
    };
    /** Objects downloaded again in this call because DuckDB named their copy unreadable. */
    const fetchedAgain = new Set<string>();
    for (;;) {
      try {
        const done = await this.ingestBatch(staged, delivered, confirmLock);
        await dropNote();
        await this.run.forget(staged.map((o) => o.key));
        return narrowed ? { ...done, narrowed: true } : done;
      } catch (error) {
        if (!isRefusal(error)) throw error;
        const named =
          error instanceof StagedObjectUnreadableError
            ? staged.find((o) => o.key === error.key)
            : undefined;
        if (named) {
          if (fetchedAgain.has(named.key)) return await setAside(named.key, error);
          fetchedAgain.add(named.key);
          await this.run.forget([named.key]);
          const fresh = await this.unreadableAlone(named, delivered);
          if (fresh) return await setAside(named.key, fresh);
          // Only the local copy was damaged: the whole batch again, with the fresh one.
          if (this.options.timeShort?.()) return await stopForTime(staged);
          continue;
        }
        const [first] = staged;
        if (staged.length === 1 && first) return await setAside(first.key, error);
        const half = staged.slice(0, Math.ceil(staged.length / 2));
        if (this.options.timeShort?.()) return await stopForTime(half);
        staged = half;
        narrowed = true;
      }
    }
  }

  /**
   * The error of reading `object` alone (its local copy, downloaded now if forgotten) as a
   * batch would, when DuckDB names it unreadable: a cost of that object, not of the batch.
   */
  private async unreadableAlone(
    object: StagedObject,
    delivered: readonly DeliveredRow[],
  ): Promise<StagedObjectUnreadableError | undefined> {
    try {
      const { file } = await this.buildBatch(newDataFilesId(this.now()), [object], delivered);
      await rm(file, { force: true });
      return undefined;
    } catch (error) {
      if (error instanceof StagedObjectUnreadableError) return error;
      throw error;
    }
  }

  private async ingestBatch(
    staged: readonly StagedObject[],
    delivered: readonly DeliveredRow[],
    confirmLock: () => Promise<void>,
  ): Promise<Omit<S3PushIngestResult, 'recovered'>> {
    const { s3, bucket } = this.options;
    const batchId = newDataFilesId(this.now());
    const keys = staged.map((o) => o.key);
    const built = await this.buildBatch(batchId, staged, delivered);
    const manifest: BatchManifest = {
      batchId,
      objects: keys,
      sha256: built.sha256,
      delivered: built.identities,
    };
    const manifestKey = `${pushBatchPrefix(this.options.source)}${batchId}.json`;
    this.options.signal.throwIfAborted();
    await this.putText(manifestKey, manifest);
    let ingest: IngestResult | undefined;
    if (built.rows > 0) {
      this.options.signal.throwIfAborted();
      await confirmLock();
      ingest = await ingestFile({
        registry: this.options.registry,
        dataDir: path.join(this.work, 'store'),
        env: 'aws',
        source: this.options.source,
        file: built.file,
        target: new S3IngestTarget(s3, bucket, () => this.now().getTime()),
        skipBatchQualityRules: true,
        absentColumnsAsNull: true,
        // Equal rows pushed twice under two push ids are two rows, as a second log is locally.
        allowDuplicate: true,
        pushTiledRows: built.tiledRows.every,
        ...(Object.keys(built.tiledRows.byView).length === 0
          ? {}
          : { pushTiledRowsByView: built.tiledRows.byView }),
        ...(built.pushLogs.length === 0 ? {} : { pushLogs: built.pushLogs }),
        signal: this.options.signal,
      }).catch(async (error: unknown) => {
        // Refused before its commit: the manifest names a batch that will never land.
        if (isRefusal(error)) await this.deleteKeys([manifestKey]);
        throw error;
      });
    }
    faultPoint('push-ingest:after-commit');
    await this.finish(manifest);
    return {
      source: this.options.source,
      objects: staged.length,
      rows: built.rows,
      duplicates: built.duplicates,
      ...(ingest ? { ingest } : {}),
    };
  }

  /**
   * Moves a refused staged object under `pushRefusedPrefix` with a `.reason.json` beside it,
   * then deletes it from the staging prefix. Copy and reason first: killed in between, the
   * object is still staged, and the next run refuses and moves it again, or ingests it (the
   * definition fixed meanwhile) and deletes the copy and reason (`finish`). The copy is made by
   * S3 from the object itself, never uploaded from this run's local copy: that copy may be the
   * very file DuckDB could not read (a download damaged on this disk), and the staged object is
   * deleted next.
   */
  private async setAside(
    key: string,
    error: unknown,
  ): Promise<{ key: string; movedTo: string; reason: string }> {
    const movedTo = `${pushRefusedPrefix(this.options.source)}${path.posix.basename(key)}`;
    const reason = error instanceof Error ? error.message : String(error);
    const note = this.settingAsideKey(key);
    await this.putText(note, { stagedKey: key, movedTo });
    this.settingAside.add(note);
    await this.options.s3.send(
      new CopyObjectCommand({
        Bucket: this.options.bucket,
        Key: movedTo,
        CopySource: `${this.options.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
      }),
    );
    await this.putText(`${movedTo}.reason.json`, {
      stagedKey: key,
      refusedAt: this.now().toISOString(),
      reason,
      fix: 'read the rows, fix the cause (or the source definition), push them again, then delete this object and its reason',
    });
    faultPoint('push-ingest:after-set-aside-copy');
    await this.deleteKeys([key]);
    await this.deleteKeys([note]);
    this.settingAside.delete(note);
    return { key, movedTo, reason };
  }

  /**
   * Step 4: ledger, staged objects, their `_refused/` twins, manifest; each step safe to repeat.
   * A twin is left by a run killed while setting the object aside (copied, not yet deleted from
   * staging): now ingested, its copy and reason would tell the operator to push its rows again.
   * Only objects with a set-aside note can have one, and only their own twin keys are listed
   * and deleted: `_refused/` holds what operators keep, and in a versioned bucket deleting a
   * key that is not there leaves a delete marker.
   */
  private async finish(manifest: BatchManifest): Promise<void> {
    await this.putText(
      `${pushLedgerPrefix(this.options.source)}${manifest.batchId}.json`,
      manifest,
    );
    await this.deleteKeys(manifest.objects);
    await this.deleteRefusedTwins(manifest.objects);
    await this.deleteKeys([`${pushBatchPrefix(this.options.source)}${manifest.batchId}.json`]);
  }

  private async deleteRefusedTwins(objects: readonly string[]): Promise<void> {
    const noted = objects.filter((key) => this.settingAside.has(this.settingAsideKey(key)));
    for (const key of noted) {
      const twin = `${pushRefusedPrefix(this.options.source)}${path.posix.basename(key)}`;
      const found = (await this.list(twin)).map((o) => o.key);
      await this.deleteKeys(found.filter((k) => k === twin || k === `${twin}.reason.json`));
    }
    await this.deleteSettingAsideNotes(noted.map((key) => this.settingAsideKey(key)));
  }

  /**
   * Drops the set-aside notes of objects no longer staged: set aside by a run killed before it
   * deleted the note (the `_refused/` copy is then the real one, kept), or deleted by a person.
   */
  private async dropSettingAsideNotesOfGone(waiting: readonly StagedObject[]): Promise<void> {
    const staged = new Set(waiting.map((o) => this.settingAsideKey(o.key)));
    await this.deleteSettingAsideNotes([...this.settingAside].filter((note) => !staged.has(note)));
  }

  private async deleteSettingAsideNotes(notes: readonly string[]): Promise<void> {
    await this.deleteKeys(notes);
    for (const note of notes) this.settingAside.delete(note);
  }

  private async putText(key: string, value: unknown): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: key,
        Body: `${JSON.stringify(value)}\n`,
        ContentType: 'application/json',
      }),
    );
  }

  private async buildBatch(
    batchId: string,
    staged: readonly StagedObject[],
    delivered: readonly DeliveredRow[],
  ) {
    const keys = staged.map((o) => o.key);
    const local: string[] = [];
    for (const object of staged) local.push(await this.localCopy(object));
    // Named by the batch id: the commit record's `file` tells this batch from equal content.
    const file = path.join(this.work, `${batchId}.jsonl`);
    const session = await openDuckdb();
    try {
      const written = await writeStagedBatch(
        session.connection,
        this.source,
        local,
        delivered,
        file,
      ).catch(async (error: unknown) => {
        if (!(error instanceof Error)) throw error;
        const unreadable =
          unreadableParquetFile(error.message, local) ??
          (isUnnamedParquetDamage(error.message)
            ? await firstUnreadableParquetFile(session.connection, local)
            : undefined);
        if (unreadable !== undefined)
          throw new StagedObjectUnreadableError(keys[local.indexOf(unreadable)] ?? '', error);
        throw error;
      });
      // Streamed: a batch file may be larger than one Buffer (2 GiB) or the function's memory.
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      const sha256 = hash.digest('hex');
      return { ...written, file, sha256 };
    } finally {
      session.close();
    }
  }

  private localCopy(object: StagedObject): Promise<string> {
    return this.run.local(this.options.s3, this.options.bucket, object, this.options.signal);
  }

  /** Whether an ingest record of this batch's file exists (its content hash and its name). */
  private async committed(batchId: string, sha256: string): Promise<boolean> {
    const records = await this.list(ingestRecordsOfContentPrefix(this.options.source, sha256));
    for (const { key } of records) {
      const record = JSON.parse(await this.getText(key)) as { file?: string };
      if (record.file && path.basename(record.file) === `${batchId}.jsonl`) return true;
    }
    return false;
  }

  /**
   * The (push id, row) pairs batches committed within the ledger's time (default a day) of the
   * oldest staged object waiting. A ledger is deleted only once it is older than that object
   * by more than the ledger's time, both S3 LastModified times: not by this host's clock at run
   * time, so a re-delivery staged an hour after its first copy stays a duplicate however late
   * compaction next runs.
   */
  private async delivered(waiting: readonly StagedObject[]): Promise<DeliveredRow[]> {
    const expiresBefore = ledgerExpiryBefore(waiting, this.options.ledgerMs ?? 86_400_000);
    const out: DeliveredRow[] = [];
    const expired: string[] = [];
    for (const { key, modified } of await this.list(pushLedgerPrefix(this.options.source))) {
      if (modified && expiresBefore !== undefined && modified.getTime() < expiresBefore) {
        expired.push(key);
        continue;
      }
      const ledger = JSON.parse(await this.getText(key)) as Partial<BatchManifest>;
      out.push(...(ledger.delivered ?? []));
    }
    await this.deleteKeys(expired);
    return out;
  }

  /** Firehose's objects for the source, oldest first (inArrivalOrder). */
  private async stagedObjects(): Promise<StagedObject[]> {
    const prefix = `${pushStagingPrefix(this.options.source)}arrived=`;
    return inArrivalOrder((await this.list(prefix)).filter((o) => o.key.endsWith('.parquet')));
  }

  async list(prefix: string): Promise<StagedObject[]> {
    const out: StagedObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.options.s3.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const c of page.Contents ?? [])
        if (c.Key)
          out.push({
            key: c.Key,
            ...(c.LastModified ? { modified: c.LastModified } : {}),
            ...(c.Size !== undefined ? { size: c.Size } : {}),
            ...(c.ETag ? { etag: c.ETag } : {}),
          });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async getText(key: string): Promise<string> {
    const response = await this.options.s3.send(
      new GetObjectCommand({ Bucket: this.options.bucket, Key: key }),
    );
    return (await response.Body?.transformToString()) ?? '';
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    if (keys.length === 1 && keys[0]) {
      await this.options.s3.send(
        new DeleteObjectCommand({ Bucket: this.options.bucket, Key: keys[0] }),
      );
      return;
    }
    for (let start = 0; start < keys.length; start += 1000) {
      const response = await this.options.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.options.bucket,
          Delete: {
            Objects: keys.slice(start, start + 1000).map((Key) => ({ Key })),
            Quiet: true,
          },
        }),
      );
      // S3 answers 200 with an <Error> per key it kept: left unnoticed, a staged object (or the
      // _refused/ twin of one ingested) would stay. Each caller's step is safe to repeat.
      const failed = response.Errors ?? [];
      if (failed.length > 0) throw new Error(notDeletedMessage(this.options.bucket, failed));
    }
  }
}

const defaultMaxBatchBytes = 1024 ** 3;

/** Under `pushBatchPrefix`; batch ids start with a digit, so no manifest is named so. */
const narrowingName = '_narrowing.json';

function notDeletedMessage(
  bucket: string,
  failed: readonly { Key?: string; Code?: string; Message?: string }[],
): string {
  const named = failed.slice(0, 10).map((e) => `${e.Key} (${e.Code}: ${e.Message})`);
  const more = failed.length > named.length ? `, and ${failed.length - named.length} more` : '';
  return `S3 did not delete ${failed.length} object(s) in bucket ${bucket}: ${named.join(', ')}${more}; the next run deletes them again`;
}

/** DuckDB named the local copy of staged object `key` as not readable Parquet. */
class StagedObjectUnreadableError extends Error {
  constructor(
    readonly key: string,
    cause: Error,
  ) {
    super(`staged object ${key} cannot be read as Parquet: ${cause.message}`, { cause });
  }
}

/** Whether no retry can ingest these objects: their rows are refused or unreadable. */
function isRefusal(error: unknown): boolean {
  return error instanceof IngestError || error instanceof StagedObjectUnreadableError;
}

/** The first objects, in order, whose sizes add up to at most `maxBytes`; at least the first. */
export function firstWithin(objects: readonly StagedObject[], maxBytes: number): StagedObject[] {
  let total = 0;
  const taken: StagedObject[] = [];
  for (const object of objects) {
    total += object.size ?? 0;
    if (taken.length > 0 && total > maxBytes) break;
    taken.push(object);
  }
  return taken;
}

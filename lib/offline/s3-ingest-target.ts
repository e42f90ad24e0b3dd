import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { faultPoint } from '../fault-injection.ts';
import { clockSeq } from './clock-seq.ts';
import { ingestRecordKey, ingestRecordsOfContentPrefix } from './ingest-records.ts';
import type { IngestRecord, IngestTarget } from './ingest-target.ts';
import { putCommitRecord } from './s3-commit-record.ts';
import { compactionLockKey } from './s3-compact-record.ts';
import { acquireS3Lock, defaultLeaseMs } from './s3-lock.ts';

/**
 * How `fstore ingest --env` commits under the source's compaction lock (absent: no lock, for the
 * push ingest, which already holds it).
 */
export interface S3CommitLocking {
  /** Wait this long for a retention, compaction or delete holding it, then refuse. */
  readonly waitMs: number;
  readonly pollMs?: number;
  readonly onWait?: (message: string) => void;
  /** Take it over from this owner (`--break-lock`). */
  readonly breakOwner?: string;
  /** A stop request ends the wait (the ingest then commits nothing and deletes its uploads). */
  readonly signal?: AbortSignal;
}

/**
 * The offline store of an AWS environment: `s3://<bucket>/offline/<source>/dt=YYYY-MM-DD/`,
 * read by the Glue tables. Data objects are named `<ingestId>-<n>.parquet`; the commit is one
 * PutObject of the ingest record at `offline/_ingests/<source>/<sha256>/<ingestId>.json`, which
 * names every object. Before it there is no record, so the content is not "already ingested"
 * and a retry (a new ingest id) commits cleanly; a failure that can be caught deletes the
 * objects already uploaded. The record is one JSON object on one line: the Glue table
 * `fstore_ingests` (JSON SerDe) reads it, and fstore's Athena queries read only objects whose
 * ingest id has a record, so objects of an ingest killed between its first upload and its commit
 * are never read by them (see docs/adr/0008-ingest-commit-point.md).
 */
export class S3IngestTarget implements IngestTarget {
  readonly description: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly now: () => number = Date.now,
    private readonly commitLocking?: S3CommitLocking,
  ) {
    this.description = `s3://${bucket}/offline/`;
  }

  /**
   * One listing finds both record layouts: `<sha256>/<ingestId>.json` and the single
   * `<sha256>.json` written before the commit rule.
   */
  async findIngest(source: string, sha256: string): Promise<IngestRecord | undefined> {
    const listed = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: ingestRecordsOfContentPrefix(source, sha256),
        MaxKeys: 1,
      }),
    );
    const key = listed?.Contents?.find((c) => c.Key?.endsWith('.json'))?.Key;
    if (!key) return undefined;
    const response = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key }),
    );
    // JSON.parse takes the one-line record and a multi-line one alike (whitespace between tokens).
    return JSON.parse((await response.Body?.transformToString()) ?? '{}') as IngestRecord;
  }

  /** Nothing to lock: sequence numbers come from the clock. */
  async beginWrite(): Promise<{ release(): Promise<void> }> {
    return { release: async () => undefined };
  }

  /** Milliseconds × 2^20: later ingests get greater numbers, up to a million rows per millisecond apart. */
  async nextSeq(): Promise<number> {
    return clockSeq(this.now());
  }

  async publish(source: string, staging: string): Promise<string[]> {
    const uploaded: string[] = [];
    for (const partition of (await readdir(staging)).sort()) {
      for (const file of (await readdir(path.join(staging, partition))).sort()) {
        const local = path.join(staging, partition, file);
        const key = `offline/${source}/${partition}/${file}`;
        try {
          await this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: key,
              Body: createReadStream(local),
              ContentLength: (await stat(local)).size,
              ContentType: 'application/vnd.apache.parquet',
            }),
          );
        } catch (error) {
          await this.discard(uploaded);
          throw error;
        }
        uploaded.push(`s3://${this.bucket}/${key}`);
        if (uploaded.length === 1) faultPoint('ingest:mid-publish');
      }
    }
    return uploaded;
  }

  /**
   * Writes the record. With `commitLocking`, under the source's compaction lock: a retention
   * (which deletes committed objects only, listed after its read of the records), an entity
   * delete (from its Athena query to its commit) or a compaction holding it finishes first, so
   * this ingest's rows are never half seen by one of them: they come after it (issue 19).
   */
  async commit(entry: Omit<IngestRecord, 'files'>, files: readonly string[]): Promise<void> {
    faultPoint('ingest:before-commit');
    const locking = this.commitLocking;
    if (!locking) return this.putRecord(entry, files);
    const lock = await acquireS3Lock({
      s3: this.client,
      bucket: this.bucket,
      key: compactionLockKey(entry.source),
      purpose: `the commit of ingest ${entry.ingestId} into source "${entry.source}"`,
      leaseMs: defaultLeaseMs,
      waitMs: locking.waitMs,
      ...(locking.pollMs !== undefined ? { pollMs: locking.pollMs } : {}),
      ...(locking.onWait ? { onWait: locking.onWait } : {}),
      ...(locking.breakOwner !== undefined ? { breakOwner: locking.breakOwner } : {}),
      ...(locking.signal ? { signal: locking.signal } : {}),
    });
    try {
      await this.putRecord(entry, files);
    } finally {
      await lock.release();
    }
  }

  private async putRecord(
    entry: Omit<IngestRecord, 'files'>,
    files: readonly string[],
  ): Promise<void> {
    const record: IngestRecord = { ...entry, files: files.map((f) => this.keyOf(f)) };
    await putCommitRecord(
      this.client,
      this.bucket,
      ingestRecordKey(entry.source, entry.sha256, entry.ingestId),
      record,
      'the uploaded objects are kept. Run the same ingest again: if the record landed it says the file was already ingested, otherwise it ingests the file anew and the kept objects stay unread',
    );
  }

  /** Deletes uploaded objects of a failed ingest; a failure here leaves them (and is not raised). */
  async discard(files: readonly string[]): Promise<void> {
    for (let start = 0; start < files.length; start += 1000) {
      const keys = files.slice(start, start + 1000).map((f) => ({ Key: this.keyOf(f) }));
      try {
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
        );
      } catch {
        // left for a later cleanup; the ingest's own error is the one to report
      }
    }
  }

  private keyOf(url: string): string {
    return url.slice(`s3://${this.bucket}/`.length);
  }
}

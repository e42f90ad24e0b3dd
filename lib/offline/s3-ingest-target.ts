import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { IngestRecord, IngestTarget } from './ingest-target.ts';

/**
 * The offline store of an AWS environment: `s3://<bucket>/offline/<source>/dt=YYYY-MM-DD/`,
 * read by the Glue tables. Each ingest is recorded at `offline/_ingests/<source>/<sha256>.json`,
 * so a duplicate is one GetObject away. Data files are uploaded before the record is written;
 * a failed upload leaves no record, and a retry uploads under a new ingest id.
 */
export class S3IngestTarget implements IngestTarget {
  readonly description: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly now: () => number = Date.now,
  ) {
    this.description = `s3://${bucket}/offline/`;
  }

  async findIngest(source: string, sha256: string): Promise<IngestRecord | undefined> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.recordKey(source, sha256) }),
      );
      return JSON.parse((await response.Body?.transformToString()) ?? '{}') as IngestRecord;
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey')
        return undefined;
      throw error;
    }
  }

  /** Milliseconds × 2^20: later ingests get greater numbers, up to a million rows per millisecond apart. */
  async nextSeq(): Promise<number> {
    return this.now() * 1_048_576;
  }

  async publish(source: string, staging: string): Promise<string[]> {
    const uploaded: string[] = [];
    for (const partition of (await readdir(staging)).sort()) {
      for (const file of (await readdir(path.join(staging, partition))).sort()) {
        const local = path.join(staging, partition, file);
        const key = `offline/${source}/${partition}/${file}`;
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: createReadStream(local),
            ContentLength: (await stat(local)).size,
            ContentType: 'application/vnd.apache.parquet',
          }),
        );
        uploaded.push(`s3://${this.bucket}/${key}`);
      }
    }
    return uploaded;
  }

  async record(entry: IngestRecord): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.recordKey(entry.source, entry.sha256),
        Body: JSON.stringify(entry),
        ContentType: 'application/json',
      }),
    );
  }

  private recordKey(source: string, sha256: string): string {
    return `offline/_ingests/${source}/${sha256}.json`;
  }
}

import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StagedObject } from './staged-object-order.ts';
import { makeWorkFolder, removeStaleWorkFolders, removeWorkFolder } from './work-folders.ts';

/**
 * Staged objects one run sets aside per source at most (ADR 0016): a definition change that
 * refuses every pushed row moves this many aside, not the whole backlog, before a person looks.
 */
export const defaultMaxSetAsidePerRun = 10;

/** The highest cap a run takes: past it a definition refusing every row could move a backlog aside. */
export const maxSetAsideLimit = 1_000;

/**
 * What one run of a source's push ingest keeps across its batches (`ingestS3PushStagingLocked`
 * called until nothing is left): each staged object downloaded once, into this run's folder,
 * and read again from there while a refused batch is halved; and how many objects the run set
 * aside, against `maxSetAside`. Firehose writes each key once, but a person may put an object
 * back under its key (from `_refused/`, the definition fixed) while a run goes on: each copy is
 * kept with the ETag its download returned and fetched again when the listing shows another.
 */
export class PushIngestRun {
  private readonly files = new Map<string, { readonly file: string; readonly etag?: string }>();
  /** Local names are numbered, never reused within the run (a forgotten one's included). */
  private downloaded = 0;
  private setAsideCount = 0;

  private constructor(
    readonly dir: string,
    readonly maxSetAside: number,
  ) {}

  static async open(
    options: { readonly workDir?: string; readonly maxSetAside?: number } = {},
  ): Promise<PushIngestRun> {
    const maxSetAside = options.maxSetAside ?? defaultMaxSetAsidePerRun;
    if (!Number.isInteger(maxSetAside) || maxSetAside < 1 || maxSetAside > maxSetAsideLimit)
      throw new Error(
        `maxSetAside must be a whole number from 1 to ${maxSetAsideLimit}, not ${maxSetAside}`,
      );
    const parent = options.workDir ?? tmpdir();
    // Removes the run folders (downloads, batch files) of processes killed before closing them.
    await removeStaleWorkFolders(parent, runFolderPrefix);
    const dir = await makeWorkFolder(parent, runFolderPrefix);
    return new PushIngestRun(dir, maxSetAside);
  }

  /**
   * The local copy of staged object `key`, downloaded on its first use in this run, and again
   * when the listing's ETag is not the one the kept copy was downloaded with (an ETag missing
   * on either side counts as the same bytes).
   */
  async local(
    s3: S3Client,
    bucket: string,
    object: Pick<StagedObject, 'key' | 'etag'>,
    signal: AbortSignal,
  ): Promise<string> {
    const known = this.files.get(object.key);
    if (
      known &&
      (known.etag === undefined || object.etag === undefined || known.etag === object.etag)
    )
      return known.file;
    await this.forget([object.key]);
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      const file = path.join(this.dir, `${String(this.downloaded++).padStart(6, '0')}.parquet`);
      try {
        const etag = await download(s3, bucket, object.key, file);
        this.files.set(object.key, { file, ...(etag ? { etag } : {}) });
        return file;
      } catch (error) {
        // A body broken off mid-way leaves part of the object: never kept, never read.
        await rm(file, { force: true });
        if (!(error instanceof BodyBrokenOffError)) throw error;
        if (attempt >= downloadAttempts)
          throw new Error(`could not download staged object ${object.key}: ${error.message}`, {
            cause: error,
          });
      }
    }
  }

  /** Frees the disk of objects that are no longer staged (ingested or set aside). */
  async forget(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const known = this.files.get(key);
      if (known === undefined) continue;
      await rm(known.file, { force: true });
      this.files.delete(key);
    }
  }

  countSetAside(): void {
    this.setAsideCount++;
  }

  get setAside(): number {
    return this.setAsideCount;
  }

  /** This run set aside as many objects as it may: it takes no more batches of the source. */
  get setAsideCapReached(): boolean {
    return this.setAsideCount >= this.maxSetAside;
  }

  async close(): Promise<void> {
    await removeWorkFolder(this.dir);
  }
}

/** Body reads per staged object: the SDK retries a failed request, not a body broken off mid-way. */
const downloadAttempts = 2;

/**
 * Streams the object's body to `file` (Firehose objects reach 128 MiB; a batch holds many, and
 * the function's memory is not the place for them), returning the ETag it was read with.
 */
async function download(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
): Promise<string | undefined> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = response.Body;
  if (!(body instanceof Readable))
    throw new Error(`S3 answered GetObject of ${key} without a readable body`);
  await pipeline(body, createWriteStream(file)).catch((error: unknown) => {
    throw new BodyBrokenOffError(error);
  });
  return response.ETag;
}

/** Reading or writing the body failed after S3 answered (the SDK retried the request itself). */
class BodyBrokenOffError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** A run's folder is `<prefix><pid>-<random>` (work-folders.ts), to tell a killed process's. */
const runFolderPrefix = 'fstore-push-run-';

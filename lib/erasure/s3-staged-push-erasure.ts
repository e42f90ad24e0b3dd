import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { faultPoint } from '../fault-injection.ts';
import { HintedError } from '../hinted-error.ts';
import { type DuckdbSession, openDuckdb, queryRows } from '../offline/duckdb-session.ts';
import { deleteEveryVersion } from '../offline/s3-object-versions.ts';
import { listVersionsUnder, versionsByKey } from '../offline/s3-version-listing.ts';
import { makeWorkFolder, removeWorkFolder } from '../offline/work-folders.ts';
import { pushErrorPrefix, pushStagingPrefix } from '../push/firehose-staging.ts';
import type { RegistrySource } from '../registry/index.ts';
import { quoteLiteral } from '../sql/dialect.ts';
import { type ErasureKey, type KeyColumn, keyColumnsOf, matchPredicate } from './erasure-keys.ts';

/** Named explicitly: bundles are minified, which renames classes. */
export class StagedPushErasureError extends HintedError {
  override name = 'StagedPushErasureError';
}

/** Pushed rows of the keys not yet in the offline store, removed from one source's prefixes. */
export interface StagedPushErasure {
  readonly source: string;
  /** Rows held by the current versions of staged objects (`_push/<source>/`, `_refused/` too). */
  readonly rows: number;
  /** Records held by the current versions of Firehose's error objects (`_push-errors/<source>/`). */
  readonly errorRecords: number;
  /** Objects with a version holding the keys (current or not). */
  readonly objects: number;
  /** Older versions deleted (absent for a dry run). */
  readonly versionsDeleted?: number;
}

export interface StagedPushErasureOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly source: RegistrySource;
  readonly keys: readonly ErasureKey[];
  readonly dryRun: boolean;
  readonly signal?: AbortSignal;
  readonly workDir?: string;
  readonly backoffMs?: number;
}

const workFolderPrefix = 'fstore-staged-erasure-';

/**
 * Removes the rows of `keys` that pushes left outside the offline store (ADR 0016), where a
 * later `compact --env` would otherwise bring them back or a person would read them:
 * - the Parquet objects Firehose staged under `offline/_push/<source>/` and the copies the
 *   push ingest set aside under its `_refused/` (the source's columns, by schema name);
 * - the records Firehose could not convert under `offline/_push-errors/<source>/` (JSON lines,
 *   gzip or not, the record in `rawData` as base64; a line that is not such JSON is removed when
 *   its text holds a key's value, as the quarantine's damaged lines are).
 * Every version of each object is read (the bucket is versioned: the push ingest deletes staged
 * objects it folded with a plain delete, which keeps them as noncurrent versions). An object
 * whose current version holds a key is written again AT ITS KEY without those rows (`If-Match`
 * the ETag read), never deleted: a staged object is the push ingest's to fold, and a batch it
 * left may name it; its (push id, row) ledger is unchanged, so the rows kept are delivered once.
 * Then every noncurrent version of an object with a version holding a key is deleted. A rerun
 * after a crash between the two (fault point `delete:staged-after-rewrite`) finds the older
 * version by the same listing. The caller holds
 * the source's compaction lock, so no push ingest folds or moves these objects meanwhile.
 */
export async function eraseStagedPushRows(
  options: StagedPushErasureOptions,
): Promise<StagedPushErasure> {
  const columns = keyColumnsOf(options.source, options.keys);
  const done = { rows: 0, errorRecords: 0, objects: 0, versionsDeleted: 0 };
  const work = await makeWorkFolder(options.workDir ?? tmpdir(), workFolderPrefix);
  const session = await openDuckdb();
  try {
    const staged = versionsByKey(
      (
        await listVersionsUnder(options.s3, options.bucket, pushStagingPrefix(options.source.name))
      ).filter((v) => v.key.endsWith('.parquet')),
    );
    let n = 0;
    for (const [key, versions] of staged) {
      let holds = false;
      let current: { file: string; etag?: string; removed: number } | undefined;
      for (const version of versions) {
        options.signal?.throwIfAborted();
        const file = path.join(work, `v-${n++}.parquet`);
        const { bytes, etag } = await download(options, key, version.id);
        await writeFile(file, bytes);
        const removed = await rowsHoldingKeys(session, file, options.keys, columns);
        if (removed > 0) holds = true;
        if (version.latest) current = { file, ...(etag ? { etag } : {}), removed };
      }
      if (!holds) continue;
      done.objects += 1;
      done.rows += current?.removed ?? 0;
      if (options.dryRun) continue;
      if (current && current.removed > 0) {
        const output = path.join(work, `out-${n++}.parquet`);
        const read = `read_parquet(${quoteLiteral(current.file)}, hive_partitioning = false)`;
        const present = await columnsOf(session, current.file);
        // Insertion order kept: the push ingest numbers rows in arrival order.
        await session.connection.run(
          `COPY (SELECT * FROM ${read} WHERE (${matchPredicate(options.keys, columns, present)}) IS NOT TRUE) TO ${quoteLiteral(output)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        await upload(options, key, output, 'application/vnd.apache.parquet', current.etag);
        faultPoint('delete:staged-after-rewrite');
      }
      done.versionsDeleted += await deleteOlder(options, key);
    }

    const errors = versionsByKey(
      await listVersionsUnder(options.s3, options.bucket, pushErrorPrefix(options.source.name)),
    );
    for (const [key, versions] of errors) {
      let holds = false;
      let current: { kept: string[]; removed: number; etag?: string } | undefined;
      for (const version of versions) {
        options.signal?.throwIfAborted();
        const { bytes, etag } = await download(options, key, version.id);
        const split = splitErrorRecords(bytes, options.keys, columns);
        if (split.removed > 0) holds = true;
        if (version.latest) current = { ...split, ...(etag ? { etag } : {}) };
      }
      if (!holds) continue;
      done.objects += 1;
      done.errorRecords += current?.removed ?? 0;
      if (options.dryRun) continue;
      if (current && current.removed > 0) {
        const output = path.join(work, `errors-${n++}.jsonl`);
        await writeFile(output, current.kept.map((line) => `${line}\n`).join(''));
        await upload(options, key, output, 'application/x-ndjson', current.etag);
      }
      done.versionsDeleted += await deleteOlder(options, key);
    }
  } finally {
    session.close();
    await removeWorkFolder(work);
  }
  return {
    source: options.source.name,
    rows: done.rows,
    errorRecords: done.errorRecords,
    objects: done.objects,
    ...(options.dryRun ? {} : { versionsDeleted: done.versionsDeleted }),
  };
}

async function columnsOf(session: DuckdbSession, file: string): Promise<Set<string>> {
  const described = await queryRows(
    session.connection,
    `DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(file)}, hive_partitioning = false)`,
  );
  return new Set(described.map((c) => String(c.column_name)));
}

async function rowsHoldingKeys(
  session: DuckdbSession,
  file: string,
  keys: readonly ErasureKey[],
  columns: readonly KeyColumn[],
): Promise<number> {
  const predicate = matchPredicate(keys, columns, await columnsOf(session, file));
  const [row] = await queryRows(
    session.connection,
    `SELECT (count(*) FILTER (WHERE ${predicate}))::BIGINT AS n FROM read_parquet(${quoteLiteral(file)}, hive_partitioning = false)`,
  );
  return Number(row?.n ?? 0);
}

/**
 * The lines of a Firehose error object kept and the number removed: a line goes when its
 * record (`rawData`, base64 of the JSON the push sent) holds a key in a key column, or, when it
 * is not such a line, when its text or decoded record holds a key's value.
 */
export function splitErrorRecords(
  bytes: Uint8Array,
  keys: readonly ErasureKey[],
  columns: readonly KeyColumn[],
): { kept: string[]; removed: number } {
  const buffer = Buffer.from(bytes);
  // Firehose compresses error output when the stream is set to; 1f 8b starts a gzip stream.
  const text = (buffer[0] === 0x1f && buffer[1] === 0x8b ? gunzipSync(buffer) : buffer).toString(
    'utf8',
  );
  const kept: string[] = [];
  let removed = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (errorLineHoldsKey(line, keys, columns)) removed += 1;
    else kept.push(line);
  }
  return { kept, removed };
}

function errorLineHoldsKey(
  line: string,
  keys: readonly ErasureKey[],
  columns: readonly KeyColumn[],
): boolean {
  const textHolds = (text: string) => keys.some((key) => text.includes(key.value));
  let raw: unknown;
  try {
    raw = (JSON.parse(line) as { rawData?: unknown } | null)?.rawData;
  } catch {
    return textHolds(line);
  }
  if (typeof raw !== 'string') return textHolds(line);
  const decoded = Buffer.from(raw, 'base64').toString('utf8');
  let record: unknown;
  try {
    record = JSON.parse(decoded);
  } catch {
    return textHolds(decoded);
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record))
    return textHolds(decoded);
  return columns.some(({ key, column }) => {
    const value = (record as Record<string, unknown>)[column];
    if (typeof value !== 'string' && typeof value !== 'number') return false;
    return keys.some((k) => k.key === key && String(value) === k.value);
  });
}

async function download(
  options: StagedPushErasureOptions,
  key: string,
  versionId: string,
): Promise<{ bytes: Uint8Array; etag?: string }> {
  const answer = await options.s3.send(
    new GetObjectCommand({ Bucket: options.bucket, Key: key, VersionId: versionId }),
  );
  const bytes = await answer.Body?.transformToByteArray();
  if (!bytes)
    throw new StagedPushErasureError(
      `s3://${options.bucket}/${key} (version ${versionId}) answered no body; nothing of it was changed`,
      'run the same command again',
    );
  return { bytes, ...(answer.ETag ? { etag: answer.ETag } : {}) };
}

async function upload(
  options: StagedPushErasureOptions,
  key: string,
  file: string,
  contentType: string,
  ifMatch?: string,
): Promise<void> {
  try {
    await options.s3.send(
      new PutObjectCommand({
        Bucket: options.bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: (await stat(file)).size,
        ContentType: contentType,
        ...(ifMatch ? { IfMatch: ifMatch } : {}),
      }),
    );
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'PreconditionFailed' || name === 'NoSuchKey')
      throw new StagedPushErasureError(
        `s3://${options.bucket}/${key} changed while it was being written again without the keys' rows; it was left as the other writer left it`,
        'run the same command again',
        { cause: error },
      );
    throw error;
  }
}

async function deleteOlder(options: StagedPushErasureOptions, key: string): Promise<number> {
  const { versions } = await deleteEveryVersion({
    s3: options.s3,
    bucket: options.bucket,
    keys: [key],
    keepCurrent: true,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
  });
  return versions;
}

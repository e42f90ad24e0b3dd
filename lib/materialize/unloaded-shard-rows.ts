import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ValueType } from '../definitions/index.ts';
import { HintedError } from '../hinted-error.ts';
import { typedValue } from '../offline/athena-query-runner.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';

/** An UNLOAD output that does not read back (damaged, or not this run's). Nothing is written. */
export class UnloadedShardError extends HintedError {
  override name = 'UnloadedShardError';
}

/**
 * How far a shard writer has read its UNLOAD output: the object it was in and the lines of it
 * already written. UNLOAD objects never change once the query succeeded, so the position is
 * exact on a retry (rows are in no key order, so a resume key would not do).
 */
export interface UnloadPosition {
  readonly object: string;
  readonly line: number;
  /** The object was read to its end: a resume starts at the next one without opening it. */
  readonly finished?: boolean;
}

export interface UnloadedShardRowsOptions {
  readonly bucket: string;
  /** The shard's folder of the run's UNLOAD, `…/fstore_shard=<i>/`. */
  readonly prefix: string;
  readonly view: PlannedView;
  /** Where an earlier attempt stopped: rows up to it are skipped. */
  readonly after?: UnloadPosition;
  /** Rows per batch (a batch never spans two objects). Default 2000. */
  readonly batchRows?: number;
}

/** The shard's UNLOAD objects, every page of the listing, in key order. */
export async function listShardObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? [])
      if (object.Key && !object.Key.endsWith('/') && (object.Size ?? 1) > 0) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/**
 * One shard's rows of a sharded run's UNLOAD (gzip JSON lines, every value as text:
 * renderUnloadColumns), typed as the single-Lambda path types Athena's results, in batches,
 * each with the position after it.
 */
export async function* unloadedShardRows(
  s3: S3Client,
  options: UnloadedShardRowsOptions,
): AsyncGenerator<{ rows: Record<string, unknown>[]; position: UnloadPosition }> {
  const objects = await listShardObjects(s3, options.bucket, options.prefix);
  const { after } = options;
  let start = 0;
  if (after) {
    start = objects.indexOf(after.object);
    if (start < 0)
      throw new UnloadedShardError(
        `the shard checkpoint names s3://${options.bucket}/${after.object}, which is not under s3://${options.bucket}/${options.prefix}`,
        'the UNLOAD output of this run was removed or replaced: run the view again (a new run unloads afresh; writes are conditional, so rows written twice change nothing)',
      );
  }
  const columns = unloadColumns(options.view);
  const batchRows = options.batchRows ?? 2000;
  for (const object of objects.slice(after?.finished ? start + 1 : start)) {
    const skip = after && object === after.object ? after.line : 0;
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: object }));
    if (!Body)
      throw new UnloadedShardError(`s3://${options.bucket}/${object} has no body`, 'run again');
    const bytes = Body as Readable;
    const text = object.endsWith('.gz') ? bytes.pipe(createGunzip()) : bytes;
    let line = 0;
    let rows: Record<string, unknown>[] = [];
    let held: { rows: Record<string, unknown>[]; line: number } | undefined;
    try {
      for await (const content of createInterface({
        input: text,
        crlfDelay: Number.POSITIVE_INFINITY,
      })) {
        line++;
        if (line <= skip || content.trim() === '') continue;
        rows.push(typedRow(content, columns, `s3://${options.bucket}/${object} line ${line}`));
        if (rows.length >= batchRows) {
          // Held back one line, so the object's last batch can say the object is finished.
          if (held) yield { rows: held.rows, position: { object, line: held.line } };
          held = { rows, line };
          rows = [];
        }
      }
    } catch (error) {
      if (error instanceof UnloadedShardError) throw error;
      throw new UnloadedShardError(
        `s3://${options.bucket}/${object} could not be read after line ${line}: ${(error as Error).message}`,
        'the object is damaged: run the view again (a new run unloads afresh)',
        { cause: error },
      );
    }
    if (held && rows.length === 0)
      yield { rows: held.rows, position: { object, line, finished: true } };
    else if (held) yield { rows: held.rows, position: { object, line: held.line } };
    if (rows.length > 0) yield { rows, position: { object, line, finished: true } };
  }
}

interface UnloadColumn {
  readonly name: string;
  readonly athenaType: string;
  readonly list: boolean;
}

function unloadColumns(view: PlannedView): UnloadColumn[] {
  return [
    ...view.joinKeys.map((k) => ({ name: k.name, athenaType: athenaTypeOf(k.type), list: false })),
    ...view.features.map((f) => ({
      name: f.outputName,
      athenaType: athenaTypeOf(f.type),
      list: f.type.startsWith('list<'),
    })),
    { name: 'event_ts', athenaType: 'timestamp', list: false },
    { name: 'created_ts', athenaType: 'timestamp', list: false },
    { name: 'fstore_seq', athenaType: 'bigint', list: false },
  ];
}

const athenaTypes: Record<string, string> = {
  int32: 'integer',
  int64: 'bigint',
  float32: 'real',
  float64: 'double',
  bool: 'boolean',
  string: 'varchar',
  timestamp: 'timestamp',
};

/** The Athena type whose result text typedValue reads as a value of this fstore type. */
function athenaTypeOf(type: ValueType): string {
  return type.startsWith('list<') ? 'varchar' : (athenaTypes[type] ?? 'varchar');
}

function typedRow(line: string, columns: readonly UnloadColumn[], where: string) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new UnloadedShardError(
      `${where} is not JSON: ${(error as Error).message}`,
      'the object is damaged or not an UNLOAD of fstore: run the view again',
      { cause: error },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UnloadedShardError(`${where} is not a JSON object`, 'run the view again');
  const record = parsed as Record<string, unknown>;
  const row: Record<string, unknown> = {};
  for (const column of columns) {
    const value = record[column.name];
    if (value === undefined || value === null) {
      row[column.name] = null;
      continue;
    }
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    row[column.name] = column.list ? JSON.parse(text) : typedValue(text, column.athenaType);
  }
  return row;
}

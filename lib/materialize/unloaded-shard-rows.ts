import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import type { ValueType } from '../definitions/index.ts';
import { typedValue } from '../offline/athena-query-runner.ts';
import type { PlannedView } from '../sql/point-in-time-plan.ts';
import {
  checkShardObjects,
  listUnloadObjects,
  type UnloadedShard,
  UnloadedShardError,
  type UnloadManifest,
} from './unload-manifest.ts';

export { UnloadedShardError };

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
  /**
   * What the UNLOAD wrote in this folder, recorded when it succeeded: a folder that no longer
   * holds it (expired, deleted) is refused before a row is read, never read as no rows.
   */
  readonly expected: UnloadedShard | undefined;
  readonly manifest: Pick<UnloadManifest, 'recordedAt'>;
  /** Rows per batch (a batch never spans two objects). Default 2000. */
  readonly batchRows?: number;
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
  const listed = await listUnloadObjects(s3, options.bucket, options.prefix);
  const objects = listed.map((o) => o.key);
  const { after } = options;
  const start = after ? objects.indexOf(after.object) : 0;
  if (after && start < 0)
    throw new UnloadedShardError(
      `the shard checkpoint names s3://${options.bucket}/${after.object}, which is not under s3://${options.bucket}/${options.prefix} (expired by the lifecycle rule expire-materialize-unload, or deleted); nothing was written`,
      'start the state machine again: the new execution finds the output incomplete and unloads the run again (shards already done stay done; rows written twice change nothing)',
    );
  checkShardObjects(options.bucket, options.prefix, options.expected, listed, options.manifest);
  const columns = unloadColumns(options.view);
  const batchRows = options.batchRows ?? 2000;
  for (const object of objects.slice(after?.finished ? start + 1 : start)) {
    const skip = after && object === after.object ? after.line : 0;
    const Body = await bodyOf(s3, options.bucket, object);
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

/** The object's body; an object gone since the listing is named as such, not retried. */
async function bodyOf(s3: S3Client, bucket: string, object: string) {
  try {
    return (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object }))).Body;
  } catch (error) {
    if (!(error instanceof NoSuchKey)) throw error;
    throw new UnloadedShardError(
      `s3://${bucket}/${object}, an object of the run's UNLOAD, is gone (expired by the lifecycle rule expire-materialize-unload, or deleted); nothing more was written`,
      'start the state machine again: the new execution finds the output incomplete and unloads the run again (rows written twice change nothing)',
      { cause: error },
    );
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

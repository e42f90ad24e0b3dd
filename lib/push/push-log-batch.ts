import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RegistrySource } from '../registry/index.ts';
import { pushLogDir, pushLogEntries } from './push-log.ts';
import { logTiles } from './push-log-tiles.ts';
import { rawNames } from './raw-names.ts';
import { type RowTiles, type TiledRowRuns, tiledRowRunsByView } from './tiled-push-rows.ts';
import { writeDurably } from './write-durably.ts';

/**
 * Many push logs ingested as one file: `_push/<source>/_batch/logs.json` (`{"batch": id,
 * "logs": [names]}`, written first) and `_batch/<id>.jsonl` (their rows in log order, so
 * `fstore_seq` keeps the write order). The id is random, so the ingest record naming that file
 * is this batch's and no other's, whatever rows it holds. Both stay until the batch's logs are
 * removed, so a run killed after the ingest's commit finds the batch's file among the committed
 * ingests and only records and removes its logs; a run killed before it finds a batch nobody
 * ingested and drops it (the logs still wait). A batch left by an fstore older than batch ids
 * (`logs.json` a plain list, rows in `rows.jsonl`) is read the same way.
 */
export interface PushLogBatch {
  readonly file: string;
  readonly logs: readonly string[];
  /**
   * Row offsets of the file that came from tiled logs, for every view version and by tile
   * prefix (IngestRecord.pushTiledRows, pushTiledRowsByView); set when written.
   */
  readonly tiledRows?: TiledRowRuns;
  /** Each log's first row offset in the file and its key (IngestRecord.pushLogs); set when written. */
  readonly pushLogs?: readonly (readonly [number, string])[];
}

/** At most this many logs, or this many bytes of rows, per batch. */
export const batchLimits = { logs: 1_000, bytes: 64 * 1024 * 1024 };

export function batchDir(dataDir: string, env: string, source: string): string {
  return path.join(pushLogDir(dataDir, env, source), '_batch');
}

/** The batch a killed run left, if it wrote both files. */
export async function leftBatch(
  dataDir: string,
  env: string,
  source: string,
): Promise<PushLogBatch | undefined> {
  const dir = batchDir(dataDir, env, source);
  const list = await readFile(path.join(dir, 'logs.json'), 'utf8').catch(() => undefined);
  if (list === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(list);
  } catch {
    return undefined;
  }
  const { id, names } = Array.isArray(parsed)
    ? { id: undefined, names: parsed as unknown[] }
    : {
        id: (parsed as { batch?: unknown })?.batch,
        names: (parsed as { logs?: unknown })?.logs,
      };
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) return undefined;
  if (id !== undefined && (typeof id !== 'string' || !batchIdPattern.test(id))) return undefined;
  const file = path.join(dir, id === undefined ? 'rows.jsonl' : `${id}.jsonl`);
  if (!(await stat(file).catch(() => undefined))) return undefined;
  const logs = pushLogDir(dataDir, env, source);
  return { file, logs: names.map((n) => path.join(logs, path.basename(n))) };
}

const batchIdPattern = /^batch-[0-9a-f]{16}$/;

export async function removeBatch(dataDir: string, env: string, source: string): Promise<void> {
  await rm(batchDir(dataDir, env, source), { recursive: true, force: true });
}

/**
 * Writes the rows of `logs` (oldest first) as one batch, each row with every column of the
 * source's current schema under its raw name (a column a log predates as null), so the reader
 * sees one set of columns whatever the logs' ages. Logs with a line that is not a JSON object
 * are left out (compacted one by one, they are moved aside with ingest's reason).
 */
export async function writeBatch(
  dataDir: string,
  env: string,
  source: RegistrySource,
  logs: readonly string[],
): Promise<{ batch?: PushLogBatch; leftOut: string[] }> {
  const columns = rawNames(source);
  const taken: string[] = [];
  const leftOut: string[] = [];
  const parts: string[] = [];
  const segments: { rows: number; tiles: RowTiles }[] = [];
  const pushLogs: [number, string][] = [];
  let bytes = 0;
  for (const log of logs) {
    if (taken.length >= batchLimits.logs || bytes >= batchLimits.bytes) break;
    const text = await readFile(log, 'utf8').catch(() => undefined);
    const lines = text === undefined ? undefined : normalized(text, columns);
    if (lines === undefined) {
      leftOut.push(log);
      continue;
    }
    const tiles = await logTiles(log, pushLogDir(dataDir, env, source.name));
    taken.push(log);
    pushLogs.push(
      ...pushLogEntries(
        log,
        segments.reduce((n, segment) => n + segment.rows, 0),
      ),
    );
    parts.push(lines);
    segments.push({ rows: lines.split('\n').length - 1, tiles });
    bytes += lines.length;
  }
  if (taken.length < 2) return { leftOut: [...leftOut, ...taken] };
  const dir = batchDir(dataDir, env, source.name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const id = `batch-${randomBytes(8).toString('hex')}`;
  await writeDurably(
    path.join(dir, 'logs.json'),
    JSON.stringify({ batch: id, logs: taken.map((l) => path.basename(l)) }),
  );
  const file = path.join(dir, `${id}.jsonl`);
  await writeDurably(file, parts.join(''));
  return {
    batch: {
      file,
      logs: taken,
      tiledRows: tiledRowRunsByView(segments),
      ...(pushLogs.length === 0 ? {} : { pushLogs }),
    },
    leftOut,
  };
}

function normalized(text: string, columns: readonly string[]): string | undefined {
  let out = '';
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return undefined;
    const values = row as Record<string, unknown>;
    out += `${JSON.stringify(Object.fromEntries(columns.map((n) => [n, values[n] ?? null])))}\n`;
  }
  return out === '' ? undefined : out;
}

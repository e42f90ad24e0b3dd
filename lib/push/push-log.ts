import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatMicros, parseEpochMicros } from '../epoch-micros.ts';
import { syncFolder } from '../offline/ingest-manifest.ts';
import { offlineRoot } from '../offline/local-layout.ts';
import { isRunning } from '../process-lock.ts';
import type { RuntimeSource } from '../registry/runtime-projection.ts';
import { PushLogWriteError } from './offline-push-unavailable.ts';
import { newPushId, type PushIdentity, pushIdPattern } from './push-id.ts';
import { isLogKey } from './push-log-order.ts';
import { logNamePattern, logTilesMarker } from './push-log-tiles.ts';
import { pushStamp } from './push-stamp.ts';
import { rawNames } from './raw-names.ts';
import type { RowTiles } from './tiled-push-rows.ts';
import type { PushRow } from './validate-push-rows.ts';
import { writeDurably, writeInPlace } from './write-durably.ts';

/**
 * The local offline half of a push (docs/adr/0015-push.md): each push's rows become one JSON-lines
 * file `offline/_push/<source>/<stamp>-<pushId>.jsonl`, durable before the push answers, outside every
 * reader's files until `compactPushLogs` ingests it under ingest's commit rule.
 */
export function pushLogDir(dataDir: string, env: string, source: string): string {
  return path.join(offlineRoot(dataDir, env), '_push', source);
}

/**
 * Writes the rows as one log file `<stamp>-<pushId>.jsonl`, durably (writeDurably: a crash
 * leaves the whole file or none; a `.tmp` left behind is never read as a log). Columns carry
 * their raw names (ingest applies the source's `fieldMapping`), timestamps UTC with
 * microseconds, int64 beyond 2^53 as text. The push id is the push's identity offline
 * (compaction ingests each push id once, docs/adr/0015-push.md): the Idempotency-Key's scope
 * for a keyed push, so its retries carry the same id, else a fresh random one. Returns the
 * log's path.
 */
export async function appendPushLog(
  dataDir: string,
  env: string,
  source: RuntimeSource,
  rows: readonly PushRow[],
  pushId: string = newPushId(),
  placement: LogPlacement & Pick<PushIdentity, 'idempotencyKey'> = { tiles: 'every' },
): Promise<string> {
  const placed = await placePushLog(dataDir, env, source, rows, pushId, placement);
  await placed.durable;
  return placed.file;
}

/**
 * The tile-fed view versions (tile item prefixes) the push applied the log's rows to (ADR
 * 0020): the log's name carries them (push-log-tiles.ts), and its ingest's commit record
 * (IngestRecord.pushTiledRowsByView), so each view version's base counts the rows its own
 * tiles do not hold. None: rows pushed `"to": "offline"` or while the source had no tile-fed
 * view. `every`: a caller that does not know (a log named as before the mark named versions).
 */
export interface LogPlacement {
  readonly tiles: RowTiles;
}

/** A push log in place under its name, and when its name survives a power cut too. */
export interface PlacedPushLog {
  readonly file: string;
  /** The log's key (pushLogKey): its rows' place in the ingest order, for their tiles. */
  readonly pushLog: string;
  /** Settles once the log's folder is fsynced (syncFolder: a folder that cannot be synced is no error). */
  readonly durable: Promise<void>;
}

/**
 * appendPushLog in two steps, for the push route: it resolves once the log is whole under its
 * name with its bytes fsynced (it survives SIGKILL of this process, and compaction sees it),
 * and the folder's fsync, which makes the rename itself survive a power cut, runs on in
 * `durable`. The route sends its online puts meanwhile and answers after both.
 */
export async function placePushLog(
  dataDir: string,
  env: string,
  source: RuntimeSource,
  rows: readonly PushRow[],
  pushId: string = newPushId(),
  placement: LogPlacement & Pick<PushIdentity, 'idempotencyKey'> = { tiles: 'every' },
): Promise<PlacedPushLog> {
  if (!pushIdPattern.test(pushId))
    throw new Error(`internal: push id "${pushId}" is not 32 lowercase hex digits`);
  const dir = pushLogDir(dataDir, env, source.name);
  try {
    return await writePushLog(dir, source, rows, pushId, placement);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw error;
    throw new PushLogWriteError(
      `the push log of source ${source.name} could not be written in ${dir} (${code})`,
      { cause: error },
    );
  }
}

async function writePushLog(
  dir: string,
  source: RuntimeSource,
  rows: readonly PushRow[],
  pushId: string,
  placement: LogPlacement & Pick<PushIdentity, 'idempotencyKey'>,
): Promise<PlacedPushLog> {
  await mkdir(dir, { recursive: true });
  await seedLogStamp(dir);
  // A keyed push run again: its first log, if still waiting, is the one compaction ingests.
  const first =
    placement.idempotencyKey === undefined ? undefined : await waitingLogOf(dir, pushId);
  // The tile set file is durable before the log exists: a log always finds it.
  const marker = await logTilesMarker(dir, placement.tiles);
  const file = path.join(dir, `${nextLogStamp()}-${pushId}${marker}.jsonl`);
  const raw = rawNames(source);
  const text = rows
    .map((row) =>
      JSON.stringify(
        Object.fromEntries(
          source.schema.map((c, i) => [raw[i], logValue(c.type, row.values[c.name])]),
        ),
      ),
    )
    .join('\n');
  await writeInPlace(file, `${text}\n`, { exclusive: true });
  return { file, pushLog: pushLogKey(first ?? file), durable: syncFolder(dir) };
}

/** The first waiting log of push `pushId` in `dir`, by name (compaction's order). */
async function waitingLogOf(dir: string, pushId: string): Promise<string | undefined> {
  return (await namesIn(dir))
    .filter((name) => pushIdOfLog(name) === pushId)
    .sort()
    .at(0);
}

/**
 * A log's name less its endings, `<stamp>-<push id>`: compaction ingests waiting logs in the
 * order of their names, and keys of one length sort as the names do, so a tiled pushed row
 * carries its log's key as its place in the ingest order (ADR 0020, "Ties for `last`").
 */
export function pushLogKey(log: string): string {
  return path.basename(log).replace(/(?:\.untiled|\.tiles-[0-9a-f]{16})?\.jsonl$/, '');
}

/**
 * A waiting log's entry in its ingest's `pushLogs` (IngestRecord.pushLogs): its first row's
 * offset in the ingested file and its key, or none for a file named as fstore never names logs
 * (isLogKey), which has no place in the ingest order.
 */
export function pushLogEntries(log: string, offset: number): [number, string][] {
  const key = pushLogKey(log);
  return isLogKey(key) ? [[offset, key]] : [];
}

/**
 * The push id in a log's name, or undefined for a log written before logs carried one
 * (`<stamp>-<12 hex>.jsonl`), which compaction still reads (by its older content rule).
 */
export function pushIdOfLog(log: string): string | undefined {
  return logNamePattern.exec(path.basename(log))?.[1];
}

let lastStampMicros = 0n;
/** Log folders whose names this process has read its last stamp from. */
const seededDirs = new Set<string>();

/**
 * Before this process's first log of a source: its last stamp becomes at least the highest stamp
 * among the source's waiting logs (and logs being written), so a process started after the clock
 * stepped back still names its logs after every log waiting before it. Logs already ingested
 * need not be counted: a later ingest gives its rows a higher `fstore_seq` whatever its name.
 */
async function seedLogStamp(dir: string): Promise<void> {
  if (seededDirs.has(dir)) return;
  for (const name of await namesIn(dir)) {
    const micros = stampOfLogName(name);
    if (micros !== undefined && micros > lastStampMicros) lastStampMicros = micros;
  }
  seededDirs.add(dir);
}

function stampOfLogName(name: string): bigint | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{6})-/.exec(name);
  return m
    ? parseEpochMicros(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`)
    : undefined;
}

/**
 * The start of a log's name: UTC time to the microsecond, strictly increasing within a process
 * and, through `seedLogStamp`, after every log of the source waiting when the process first wrote
 * one, so names sort in the order the logs were written and compaction gives a later push the
 * higher `fstore_seq` (the later push wins a full tie offline, as it does online). Pushes of two
 * processes in the same microsecond sort by their random suffix.
 */
function nextLogStamp(): string {
  const now = BigInt(Date.now()) * 1000n;
  lastStampMicros = now > lastStampMicros ? now : lastStampMicros + 1n;
  return pushStamp(lastStampMicros);
}

/** Committed-to-disk logs of a source waiting for compaction, oldest first. */
export async function pendingPushLogs(
  dataDir: string,
  env: string,
  source: string,
): Promise<string[]> {
  const dir = pushLogDir(dataDir, env, source);
  const names = await namesIn(dir);
  // Names starting with '_' are compaction's own files (the batch, the lock, the ledger).
  return names
    .filter((n) => n.endsWith('.jsonl') && !n.startsWith('_'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Where logs ingest refused are moved, each beside a `<id>.reason.txt`. */
export function failedPushLogDir(dataDir: string, env: string, source: string): string {
  return path.join(pushLogDir(dataDir, env, source), 'failed');
}

/**
 * Moves a log ingest refused out of the way of later logs, as `failed/<id>.jsonl` with its
 * columns under the source's schema names (what `fstore push --file` reads; the log itself
 * carries the raw names ingest maps) beside `failed/<id>.reason.txt`. Each file is written to a
 * temporary name, fsynced and renamed before the log is removed, so a crash leaves the log
 * waiting (tried again, its failed copy rewritten) and never loses it.
 */
export async function moveAsideFailedLog(
  dataDir: string,
  env: string,
  source: Pick<RuntimeSource, 'name' | 'fieldMapping'>,
  log: string,
  reason: string,
): Promise<string> {
  const dir = failedPushLogDir(dataDir, env, source.name);
  await mkdir(dir, { recursive: true });
  const id = path.basename(log, '.jsonl');
  const mapping = Object.entries(source.fieldMapping);
  const text = await readFile(log, 'utf8');
  const renamed =
    mapping.length === 0
      ? text
      : text
          .split('\n')
          .map((line) => (line.trim() === '' ? line : schemaNamed(line, source.fieldMapping)))
          .join('\n');
  const moved = path.join(dir, `${id}.jsonl`);
  await writeDurably(path.join(dir, `${id}.reason.txt`), `${reason.trimEnd()}\n`);
  await writeDurably(moved, renamed);
  await rm(log, { force: true });
  await syncFolder(path.dirname(log));
  return moved;
}

function schemaNamed(line: string, fieldMapping: Readonly<Record<string, string>>): string {
  let row: Record<string, unknown>;
  try {
    row = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line; // a damaged line stays as it is, for a person to mend
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return line;
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(row).map(([raw, value]) => [fieldMapping[raw] ?? raw, value]),
    ),
  );
}

/** Logs of a source that ingest refused, each with its reason file. */
export async function failedPushLogs(
  dataDir: string,
  env: string,
  source: string,
): Promise<{ log: string; reasonFile: string }[]> {
  const dir = failedPushLogDir(dataDir, env, source);
  const names = await namesIn(dir);
  return names
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .map((n) => ({
      log: path.join(dir, n),
      reasonFile: path.join(dir, `${path.basename(n, '.jsonl')}.reason.txt`),
    }));
}

/** Logs left this old with no writer pid in their name (written before names carried one) are abandoned. */
const unnamedWriterMaxAgeMs = 60 * 60 * 1000;

/**
 * Removes the temporary files of log writers that died before their rename (SIGKILL, power
 * loss): `<id>.jsonl.<pid>.tmp` whose pid no longer runs, and pid-less `<id>.jsonl.tmp` older
 * than an hour. A running writer's file is never removed (its pid runs); a dead writer's pid
 * reused by another process only delays the removal. Returns the removed paths.
 */
export async function removeAbandonedLogTemporaries(
  dataDir: string,
  env: string,
  source: string,
  nowMs = Date.now(),
): Promise<string[]> {
  const dir = pushLogDir(dataDir, env, source);
  const names = await namesIn(dir);
  const removed: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.tmp'))) {
    const file = path.join(dir, name);
    const pid = /\.jsonl\.(\d+)\.tmp$/.exec(name)?.[1];
    const abandoned =
      pid !== undefined
        ? !isRunning(Number(pid))
        : nowMs - ((await stat(file).catch(() => undefined))?.mtimeMs ?? nowMs) >
          unnamedWriterMaxAgeMs;
    if (!abandoned) continue;
    await rm(file, { force: true });
    removed.push(file);
  }
  return removed;
}

/** The names in a folder; none when the folder does not exist (no push written there yet). */
async function namesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
}

function logValue(type: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (type === 'timestamp' && typeof value === 'string') {
    const micros = parseEpochMicros(value);
    return micros === undefined ? value : formatMicros(micros);
  }
  return value;
}

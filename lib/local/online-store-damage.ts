import { readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { envDataDir } from '../data-paths.ts';
import { HintedError } from '../hinted-error.ts';
import { replaceFile } from '../replace-file.ts';

/**
 * The local online store's files are damaged, missing or empty while watermarks say it held
 * data. The offline store is the source of truth, so the fix is always the same rebuild.
 */
export class OnlineStoreDamagedError extends HintedError {}

/** The commands that rebuild an environment's online store from its offline store. */
export function rebuildCommands(dataDir: string, env: string): string {
  const options = [
    ...(env === 'local' ? [] : [`--env ${env}`]),
    ...(path.resolve(dataDir) === path.resolve('.fstore') ? [] : [`--data-dir ${dataDir}`]),
  ].join(' ');
  const suffix = options ? ` ${options}` : '';
  return `fstore reset --online${suffix}, then fstore materialize${suffix}`;
}

export function onlineStoreDamaged(
  dataDir: string,
  env: string,
  problem: string,
  cause?: unknown,
): OnlineStoreDamagedError {
  return new OnlineStoreDamagedError(
    `the online store in ${path.join(envDataDir(dataDir, env), 'online')} ${problem}`,
    `the offline store is the source of truth and is not affected; rebuild the online store from it with full history: ${rebuildCommands(dataDir, env)}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Watermarks recorded outside the online folder, so a vanished or emptied store is noticed. */
export function watermarkRecordPath(dataDir: string, env: string): string {
  return path.join(envDataDir(dataDir, env), 'online.watermarks.json');
}

/** Key prefix of each materialized view version → its latest watermark. */
export type WatermarkRecord = Record<string, string>;

export async function readWatermarkRecord(dataDir: string, env: string): Promise<WatermarkRecord> {
  const text = await readFile(watermarkRecordPath(dataDir, env), 'utf8').catch(() => '');
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as { views?: unknown };
    return parsed.views && typeof parsed.views === 'object'
      ? (parsed.views as WatermarkRecord)
      : {};
  } catch {
    return {};
  }
}

export async function recordWatermark(
  dataDir: string,
  env: string,
  keyPrefix: string,
  watermark: string,
): Promise<void> {
  const file = watermarkRecordPath(dataDir, env);
  const views = { ...(await readWatermarkRecord(dataDir, env)), [keyPrefix]: watermark };
  await replaceFile(
    file,
    `${JSON.stringify({ about: 'watermarks of the online store in ./online, kept to notice it vanish; fstore reset --online removes this', views }, null, 2)}\n`,
  );
}

export async function removeWatermarkRecord(dataDir: string, env: string): Promise<void> {
  await rm(watermarkRecordPath(dataDir, env), { force: true });
}

export function materializedViews(record: WatermarkRecord): string {
  const count = Object.keys(record).length;
  return `watermarks say ${count} view${count === 1 ? ' was' : 's were'} materialized`;
}

/**
 * What the LevelDB folder looks like before anything opens it: `absent` (no folder, or no
 * database files yet), `present` (CURRENT names an existing MANIFEST) or `damaged` with the
 * reason. LevelDB would silently create an empty database where CURRENT is missing (and then
 * delete the table files it does not know), so that case must be caught here.
 */
export async function inspectOnlineFolder(
  dir: string,
): Promise<{ state: 'absent' | 'present' } | { state: 'damaged'; problem: string }> {
  const files = await readdir(dir).catch(() => undefined);
  const data = (files ?? []).filter((f) => /^(MANIFEST-\d+|\d+\.(ldb|sst|log))$/.test(f));
  if (!files?.includes('CURRENT')) {
    return data.length === 0
      ? { state: 'absent' }
      : {
          state: 'damaged',
          problem: `is damaged: its CURRENT file is missing (${data.length} database file(s) remain), so LevelDB would start an empty store`,
        };
  }
  const current = (await readFile(path.join(dir, 'CURRENT'), 'utf8').catch(() => '')).trim();
  if (!/^MANIFEST-\d+$/.test(current))
    return { state: 'damaged', problem: 'is damaged: its CURRENT file does not name a MANIFEST' };
  if (!files.includes(current))
    return {
      state: 'damaged',
      problem: `is damaged: CURRENT names ${current}, which is missing`,
    };
  return { state: 'present' };
}

/** The part of classic-level (dynalite's LevelDB) used to open a folder directly. */
export interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  iterator(options?: Record<string, unknown>): AsyncIterable<[string, string]> & {
    close(): Promise<void>;
  };
}

/** The LevelDB class dynalite itself uses, resolved from dynalite's own dependencies. */
export function levelDatabase(
  dir: string,
  options: { createIfMissing: boolean; valueEncoding?: string },
): LevelDatabase {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { Level } = fromDynalite('level') as {
    Level: new (dir: string, options: Record<string, unknown>) => LevelDatabase;
  };
  return new Level(dir, { valueEncoding: 'utf8', ...options });
}

/** The first line of a LevelDB error without the `Corruption:` noise doubled by wrappers. */
export function levelReason(error: unknown): string {
  const own = error instanceof Error ? error : new Error(String(error));
  const cause = own.cause instanceof Error ? own.cause : undefined;
  const text =
    cause && own.message.startsWith('Database failed to open') ? cause.message : own.message;
  return text.split('\n')[0] ?? '';
}

/**
 * Opens the folder with LevelDB and closes it again, so a damaged store fails here with
 * LevelDB's own reason instead of inside dynalite ("Database is closed" on every request).
 */
export async function probeLevelOpen(dir: string, createIfMissing: boolean): Promise<void> {
  const db = levelDatabase(dir, { createIfMissing });
  await db.open();
  await db.close();
}

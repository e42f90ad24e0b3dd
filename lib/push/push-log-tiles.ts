import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RowTiles } from './tiled-push-rows.ts';
import { writeDurably } from './write-durably.ts';

/**
 * The tiles a push log's rows were applied to, carried by its name (ADR 0020, "Pushed rows in
 * the base"): `<stamp>-<pushId>.jsonl` (written before the mark named view versions: tiled for
 * every view version), `.untiled.jsonl` (no tiles) or `.tiles-<16 hex>.jsonl`, where the hex
 * names the file `_tiles/<16 hex>.json` beside the logs: the sorted tile item prefixes
 * (`<view>#<version>`). A name cannot hold the prefixes themselves (up to 77 characters each,
 * 255 per name); the tile set file is written durably before the log, so every log finds its
 * set, and is never removed (one small file per distinct set of tile-fed view versions).
 */
export const logNamePattern =
  /^\d{8}T\d{6}\.\d{6}-([0-9a-f]{32})(?:\.untiled|\.tiles-([0-9a-f]{16}))?\.jsonl$/;

/** The part of a log's name before `.jsonl` that says where its rows are tiled. */
export async function logTilesMarker(logDir: string, tiles: RowTiles): Promise<string> {
  if (tiles === 'every') return '';
  const prefixes = [...new Set(tiles)].sort();
  if (prefixes.length === 0) return '.untiled';
  const text = JSON.stringify(prefixes);
  const id = createHash('sha256').update(text).digest('hex').slice(0, 16);
  await tileSetWritten(path.join(logDir, '_tiles', `${id}.json`), text);
  return `.tiles-${id}`;
}

/** Tile set files this process is writing: two pushes at once share one temporary name. */
const writing = new Map<string, Promise<void>>();

function tileSetWritten(file: string, text: string): Promise<void> {
  let written = writing.get(file);
  if (!written) {
    written = (async () => {
      if (await stat(file).catch(() => undefined)) return;
      await mkdir(path.dirname(file), { recursive: true });
      await writeDurably(file, text);
    })().finally(() => writing.delete(file));
    writing.set(file, written);
  }
  return written;
}

/**
 * The tiles a log's rows were applied to, by its name; `logDir` is the source's log folder
 * (pushLogDir), where its tile set file is. A log named `<stamp>-<pushId>.jsonl` counts as
 * tiled for every view version, as every pushed row did before logs said so. A log without a
 * push id in its name is untiled: its name formats (`<stamp>-<12 hex>`, stamp to the second,
 * then to the microsecond) were written only by releases older than tiles, and no push writes
 * one now (a `.jsonl` put in the folder by hand is named otherwise too: no push tiled it).
 */
export async function logTiles(log: string, logDir: string): Promise<RowTiles> {
  const name = path.basename(log);
  if (name.endsWith('.untiled.jsonl')) return [];
  const match = logNamePattern.exec(name);
  if (match === null) return [];
  const id = match[2];
  if (id === undefined) return 'every';
  const file = path.join(logDir, '_tiles', `${id}.json`);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `push log ${log} names the tile set ${id}, whose file ${file} cannot be read (${error.code ?? error.message}); restore the file (it lists the log's tile prefixes) before compacting`,
    );
  });
  let prefixes: unknown;
  try {
    prefixes = JSON.parse(text);
  } catch {
    prefixes = undefined;
  }
  if (!Array.isArray(prefixes) || !prefixes.every((p) => typeof p === 'string' && p !== ''))
    throw new Error(
      `the tile set file ${file} of push log ${log} holds ${JSON.stringify(text.slice(0, 200))}, not a JSON list of tile prefixes`,
    );
  return prefixes as string[];
}

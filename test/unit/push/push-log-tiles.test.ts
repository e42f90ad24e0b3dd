import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logTiles, logTilesMarker } from '../../../lib/push/push-log-tiles.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const log = (dir: string, marker: string) =>
  path.join(dir, `20260301T000000.000001-${'a'.repeat(32)}${marker}.jsonl`);

describe('the tiles a push log names', () => {
  it('are the view versions of its tile set, written beside the logs before the log is named', async () => {
    const dir = await makeTempDir('push-log-tiles');
    const marker = await logTilesMarker(dir, ['spend_twin#ba9876543210', 'spend#0123456789ab']);
    expect(marker).toMatch(/^\.tiles-[0-9a-f]{16}$/);
    // The same set in another order is the same file.
    expect(await logTilesMarker(dir, ['spend#0123456789ab', 'spend_twin#ba9876543210'])).toBe(
      marker,
    );
    const setFile = path.join(dir, '_tiles', `${marker.slice('.tiles-'.length)}.json`);
    expect(JSON.parse(await readFile(setFile, 'utf8'))).toEqual([
      'spend#0123456789ab',
      'spend_twin#ba9876543210',
    ]);
    expect(await logTiles(log(dir, marker), dir)).toEqual([
      'spend#0123456789ab',
      'spend_twin#ba9876543210',
    ]);
  });

  it('are none for an untiled log, and every view version for a log named before the sets', async () => {
    const dir = await makeTempDir('push-log-tiles');
    expect(await logTilesMarker(dir, [])).toBe('.untiled');
    expect(await logTilesMarker(dir, 'every')).toBe('');
    expect(await logTiles(log(dir, '.untiled'), dir)).toEqual([]);
    expect(await logTiles(log(dir, ''), dir)).toBe('every');
  });

  it('are none for a log named without a push id: its formats predate tiles, and no push writes one now', async () => {
    const dir = await makeTempDir('push-log-tiles');
    for (const name of [
      '20261201T050000-abcdef123456.jsonl',
      '20261201T050000.123456-abcdef123456.jsonl',
      'replayed by hand.jsonl',
    ])
      expect(await logTiles(path.join(dir, name), dir), name).toEqual([]);
  });

  it('cannot be read without their tile set file: the error names the log and the file', async () => {
    const dir = await makeTempDir('push-log-tiles');
    const marker = await logTilesMarker(dir, ['spend#0123456789ab']);
    await rm(path.join(dir, '_tiles'), { recursive: true });
    await expect(logTiles(log(dir, marker), dir)).rejects.toThrow(
      /push log .*\.tiles-[0-9a-f]{16}\.jsonl names the tile set [0-9a-f]{16}, whose file .*_tiles.* cannot be read/,
    );
  });
});

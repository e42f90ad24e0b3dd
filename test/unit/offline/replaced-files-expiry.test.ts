import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultKeepReplacedMs,
  deleteReplacedFiles,
  forgetExpiredReplacedFiles,
  isExpired,
  parseKeepDuration,
  removeExpiredReplacedFiles,
  replacedFilesEntry,
  withoutExpired,
} from '../../../lib/offline/compact-replaced.ts';
import {
  type IngestRecord,
  manifestPath,
  type ReplacedFiles,
  readManifestState,
  replaceManifest,
} from '../../../lib/offline/ingest-manifest.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const at = Date.parse('2026-03-01T12:00:00.000Z');

const entry = (replacedBy: string, keepUntilMs: number, files: string[]): ReplacedFiles => ({
  kind: 'replaced-files',
  replacedBy,
  at: new Date(at).toISOString(),
  keepUntil: new Date(keepUntilMs).toISOString(),
  files,
});

const record: IngestRecord = {
  ingestId: '20260301t000000-aaaaaaaa',
  source: 'orders',
  file: '/in/orders.csv',
  sha256: 'aaaa',
  rows: 1,
  firstSeq: 1,
  at: '2026-03-01T00:00:00.000Z',
  files: ['orders/dt=2026-03-01/20260301t000000-aaaaaaaa-0.parquet'],
};

async function storeWith(files: string[]): Promise<string> {
  const root = path.join(await makeTempDir('replaced-files'), 'offline');
  for (const file of files) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), 'x');
  }
  await mkdir(root, { recursive: true });
  return root;
}

describe('parseKeepDuration', () => {
  it('reads 0 and durations as milliseconds, with surrounding spaces', () => {
    expect(parseKeepDuration('0', 'x')).toBe(0);
    expect(parseKeepDuration(' 0 ', 'x')).toBe(0);
    expect(parseKeepDuration('90s', 'x')).toBe(90_000);
    expect(parseKeepDuration(' 15m ', 'x')).toBe(900_000);
    expect(parseKeepDuration('2h', 'x')).toBe(7_200_000);
    expect(defaultKeepReplacedMs).toBe(3_600_000);
  });

  it('refuses anything else, naming the option and quoting the text', () => {
    expect(() => parseKeepDuration('00', '--keep-replaced')).toThrow(
      '--keep-replaced must be 0 or a duration such as 90s, 15m, 2h or 1d; got "00"',
    );
    expect(() => parseKeepDuration('', '--keep-replaced')).toThrow(RangeError);
    expect(() => parseKeepDuration('1.5h', 'keep')).toThrow('keep must be 0 or a duration');
  });
});

describe('replacedFilesEntry', () => {
  it('records the compaction, its time, the time the files are kept until and their paths relative to the root', () => {
    const root = path.join('/store', 'offline');
    expect(
      replacedFilesEntry(
        root,
        'c1',
        [path.join(root, 'orders', 'dt=2026-03-01', 'a-0.parquet')],
        90_000,
        at,
      ),
    ).toEqual({
      kind: 'replaced-files',
      replacedBy: 'c1',
      at: '2026-03-01T12:00:00.000Z',
      keepUntil: '2026-03-01T12:01:30.000Z',
      files: ['orders/dt=2026-03-01/a-0.parquet'],
    });
  });
});

describe('isExpired and withoutExpired', () => {
  it('counts an entry as expired from the very millisecond it is kept until', () => {
    const e = entry('c1', at + 1000, []);
    expect(isExpired(e, at + 999)).toBe(false);
    expect(isExpired(e, at + 1000)).toBe(true);
    expect(isExpired(e, at + 1001)).toBe(true);
  });

  it('splits the replaced files into kept and expired and keeps the records as they are', () => {
    const old = entry('old', at - 1, ['orders/dt=2026-03-01/old-0.parquet']);
    const fresh = entry('fresh', at + 1, ['orders/dt=2026-03-01/fresh-0.parquet']);
    const { kept, expired } = withoutExpired({ records: [record], replaced: [old, fresh] }, at);
    expect(kept).toEqual({ records: [record], replaced: [fresh] });
    expect(expired).toEqual([old]);
  });
});

describe('deleteReplacedFiles', () => {
  it('deletes the files, counts files already gone as deleted, and removes the folders left empty only', async () => {
    const root = await storeWith([
      'orders/dt=2026-03-01/a-0.parquet',
      'orders/dt=2026-03-02/b-0.parquet',
      'orders/dt=2026-03-02/keep-0.parquet',
    ]);
    const notDeleted = await deleteReplacedFiles(root, [
      entry('c1', at, ['orders/dt=2026-03-01/a-0.parquet', 'orders/dt=2026-03-01/gone-0.parquet']),
      entry('c2', at, ['orders/dt=2026-03-02/b-0.parquet']),
    ]);
    expect(notDeleted).toBe(0);
    expect(await readdir(path.join(root, 'orders'))).toEqual(['dt=2026-03-02']);
    expect(await readdir(path.join(root, 'orders', 'dt=2026-03-02'))).toEqual(['keep-0.parquet']);
  });

  it('counts a file it could not delete', async () => {
    const root = await storeWith(['orders/dt=2026-03-01/dir-0.parquet/inner']);
    // A non-empty folder under a file's name: rm without `recursive` refuses it.
    expect(
      await deleteReplacedFiles(root, [entry('c1', at, ['orders/dt=2026-03-01/dir-0.parquet'])]),
    ).toBe(1);
  });
});

describe('removeExpiredReplacedFiles', () => {
  it('deletes the expired files and drops their lines, keeping the rest of the manifest', async () => {
    const root = await storeWith([
      'orders/dt=2026-03-01/old-0.parquet',
      'orders/dt=2026-03-01/new-0.parquet',
    ]);
    const old = entry('old', at, ['orders/dt=2026-03-01/old-0.parquet']);
    const fresh = entry('fresh', at + 60_000, ['orders/dt=2026-03-01/new-0.parquet']);
    await replaceManifest(root, { records: [record], replaced: [old, fresh] }, 'setup');

    const result = await removeExpiredReplacedFiles(root, 'compact', at);

    expect(result).toEqual({
      removed: [path.join(root, 'orders/dt=2026-03-01/old-0.parquet')],
      notDeleted: 0,
    });
    expect(await readManifestState(root)).toEqual({ records: [record], replaced: [fresh] });
    expect(await readdir(path.join(root, 'orders', 'dt=2026-03-01'))).toEqual(['new-0.parquet']);
    expect((await readdir(root)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps the lines of files it could not delete, so a later call retries them', async () => {
    const root = await storeWith(['orders/dt=2026-03-01/dir-0.parquet/inner']);
    const stuck = entry('old', at, ['orders/dt=2026-03-01/dir-0.parquet']);
    await replaceManifest(root, { records: [record], replaced: [stuck] }, 'setup');

    const result = await removeExpiredReplacedFiles(root, 'compact', at);

    expect(result.notDeleted).toBe(1);
    expect(await readManifestState(root)).toEqual({ records: [record], replaced: [stuck] });
  });

  it('does nothing without a manifest or with nothing expired', async () => {
    const empty = await storeWith([]);
    expect(await removeExpiredReplacedFiles(empty, 'compact', at)).toEqual({
      removed: [],
      notDeleted: 0,
    });
    expect(await readdir(empty)).toEqual([]);

    const root = await storeWith(['orders/dt=2026-03-01/new-0.parquet']);
    const fresh = entry('fresh', at + 1, ['orders/dt=2026-03-01/new-0.parquet']);
    await replaceManifest(root, { records: [record], replaced: [fresh] }, 'setup');
    const before = await stat(manifestPath(root));
    expect(await removeExpiredReplacedFiles(root, 'compact', at)).toEqual({
      removed: [],
      notDeleted: 0,
    });
    // Not rewritten: replaceManifest renames a new file over it.
    expect((await stat(manifestPath(root))).ino).toBe(before.ino);
    expect(await readdir(path.join(root, 'orders', 'dt=2026-03-01'))).toEqual(['new-0.parquet']);
  });
});

describe('forgetExpiredReplacedFiles', () => {
  it('drops the expired lines without touching any file', async () => {
    const root = await storeWith(['orders/dt=2026-03-01/old-0.parquet']);
    const old = entry('old', at, ['orders/dt=2026-03-01/old-0.parquet']);
    const fresh = entry('fresh', at + 1, []);
    await replaceManifest(root, { records: [record], replaced: [old, fresh] }, 'setup');

    await forgetExpiredReplacedFiles(root, 'compact', at);

    expect(await readManifestState(root)).toEqual({ records: [record], replaced: [fresh] });
    expect(await readdir(path.join(root, 'orders', 'dt=2026-03-01'))).toEqual(['old-0.parquet']);
  });

  it('leaves the manifest file as it is when nothing expired, and creates none without one', async () => {
    const root = await storeWith([]);
    await forgetExpiredReplacedFiles(root, 'compact', at);
    expect(await readdir(root)).toEqual([]);

    const fresh = entry('fresh', at + 1, []);
    await replaceManifest(root, { records: [record], replaced: [fresh] }, 'setup');
    const before = await stat(manifestPath(root));
    await forgetExpiredReplacedFiles(root, 'compact', at);
    const after = await stat(manifestPath(root));
    expect(after.ino).toBe(before.ino);
  });
});

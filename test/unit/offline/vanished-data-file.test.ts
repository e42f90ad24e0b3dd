import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CompactedWhileReadingError,
  explainVanishedDataFile,
} from '../../../lib/offline/compact-vanished-file.ts';
import {
  type IngestRecord,
  MissingCommittedFilesError,
  type ReplacedFiles,
  replaceManifest,
} from '../../../lib/offline/ingest-manifest.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

// DuckDB's words when a file listed in a query is gone (see missingFilePatterns).
const noFiles = (file: string) =>
  new Error(`IO Error: No files found that match the pattern "${file}"`);
const cannotOpen = (file: string) =>
  new Error(`IO Error: Cannot open file "${file}": No such file or directory`);

const committed = 'orders/dt=2026-03-01/20260301t000000-aaaaaaaa-0.parquet';
const merged = 'orders/dt=2026-03-01/20260302t000000-cccccccc-0.parquet';
const replacedFile = 'orders/dt=2026-03-01/20260301t100000-bbbbbbbb-0.parquet';
const record: IngestRecord = {
  ingestId: '20260301t000000-aaaaaaaa',
  source: 'orders',
  file: '/in/orders.csv',
  sha256: 'aaaa',
  rows: 1,
  firstSeq: 1,
  at: '2026-03-01T00:00:00.000Z',
  files: [committed, merged],
};
const replaced: ReplacedFiles = {
  kind: 'replaced-files',
  replacedBy: '20260302t000000-cccccccc',
  at: '2026-03-02T00:00:00.000Z',
  keepUntil: '2026-03-02T01:00:00.000Z',
  files: [replacedFile],
};

let root: string;
const abs = (relative: string) => path.join(root, relative);
beforeEach(async () => {
  root = path.join(await makeTempDir('vanished-data-file'), 'offline');
  await mkdir(path.join(root, 'orders', 'dt=2026-03-01'), { recursive: true });
  await writeFile(abs(committed), 'x');
  await writeFile(abs(merged), 'x');
  await replaceManifest(root, { records: [record], replaced: [replaced] }, 'setup');
});

describe('explainVanishedDataFile: a query whose data file is gone', () => {
  it('tells a file replaced by a compaction and since deleted, naming the compaction', () => {
    const error = noFiles(abs(replacedFile));
    const explained = explainVanishedDataFile(error, root);
    expect(explained).toBeInstanceOf(CompactedWhileReadingError);
    expect(explained?.message).toBe(
      `data file ${path.join(...replacedFile.split('/'))} of source "orders" was replaced by a compaction (fstore compact 20260302t000000-cccccccc at 2026-03-02T00:00:00.000Z) after this read listed the files to read, and deleted when its keeping time ended; the store itself is intact`,
    );
    expect(explained?.hint).toBe(
      'run it again: it reads the merged files, which hold the same rows. If reads take longer than compaction keeps replaced files, raise fstore compact --keep-replaced (env FSTORE_COMPACT_KEEP_REPLACED, default 60m)',
    );
    expect(explained?.cause).toBe(error);
    expect((explained as CompactedWhileReadingError).source).toBe('orders');
  });

  it("reads DuckDB's 'Cannot open file' too, and a thrown string", () => {
    expect(explainVanishedDataFile(cannotOpen(abs(replacedFile)), root)).toBeInstanceOf(
      CompactedWhileReadingError,
    );
    expect(
      explainVanishedDataFile(`No files found that match the pattern "${abs(replacedFile)}"`, root),
    ).toBeInstanceOf(CompactedWhileReadingError);
  });

  it('says a compaction without naming one when the manifest no longer lists the file', () => {
    const gone = 'orders/dt=2026-03-01/20260301t200000-dddddddd-0.parquet';
    expect(explainVanishedDataFile(noFiles(abs(gone)), root)?.message).toContain(
      'was replaced by a compaction (fstore compact) after this read',
    );
  });

  it('tells a committed file deleted by hand as missing, with its ingest', async () => {
    await rm(abs(committed));
    const explained = explainVanishedDataFile(cannotOpen(abs(committed)), root);
    expect(explained).toBeInstanceOf(MissingCommittedFilesError);
    expect(explained?.message).toContain('1 committed data file of source "orders" is missing');
  });

  it.each([
    ['another error', () => new Error('Binder Error: column "x" not found')],
    ['a file that is still there', () => noFiles(abs(merged))],
    [
      'a file outside the offline store',
      () => noFiles(path.join(root, '..', 'elsewhere', '20260301t000000-aaaaaaaa-0.parquet')),
    ],
    ['the offline root itself', () => noFiles(root)],
    ['a file not named like a data file', () => noFiles(abs('orders/dt=2026-03-01/notes.parquet'))],
  ])('leaves %s unexplained', (_, error) => {
    expect(explainVanishedDataFile(error(), root)).toBeUndefined();
  });

  it('leaves unexplained a replaced file that is still kept on disk (DuckDB failed on it otherwise)', async () => {
    await writeFile(abs(replacedFile), 'x');
    expect(explainVanishedDataFile(cannotOpen(abs(replacedFile)), root)).toBeUndefined();
  });

  it('leaves a store without a manifest unexplained', async () => {
    const empty = path.join(await makeTempDir('vanished-no-manifest'), 'offline');
    expect(explainVanishedDataFile(noFiles(path.join(empty, replacedFile)), empty)).toBeUndefined();
  });
});

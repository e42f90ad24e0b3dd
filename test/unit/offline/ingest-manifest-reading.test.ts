import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  committedFilesOf,
  committedSourceFiles,
  type IngestRecord,
  ingestIdOfFile,
  isManifestTemporary,
  MissingCommittedFilesError,
  manifestPath,
  newDataFilesId,
  parseManifestState,
  presentCommittedSourceFiles,
  readManifest,
  readManifestState,
  readManifestStateSync,
  readManifestSync,
  replaceManifest,
  sourceDataFiles,
  writeManifest,
} from '../../../lib/offline/ingest-manifest.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const idA = '20260301t000000-aaaaaaaa';
const idB = '20260301t000001-bbbbbbbb';

const record = (ingestId: string, files?: string[], source = 'orders'): IngestRecord => ({
  ingestId,
  source,
  file: `/in/${ingestId}.csv`,
  sha256: ingestId,
  rows: 1,
  firstSeq: 1,
  at: '2026-03-01T00:00:00.000Z',
  ...(files ? { files } : {}),
});

async function storeWith(files: string[]): Promise<string> {
  const root = path.join(await makeTempDir('ingest-manifest'), 'offline');
  await mkdir(root, { recursive: true });
  for (const file of files) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), 'x');
  }
  return root;
}

describe('data file names', () => {
  it('makes ids of the UTC time and 8 hex digits that its own pattern reads back', () => {
    const id = newDataFilesId(new Date('2026-03-01T12:34:56.789Z'));
    expect(id).toMatch(/^20260301t123456-[0-9a-f]{8}$/);
    expect(ingestIdOfFile(`${id}-0.parquet`)).toBe(id);
    expect(newDataFilesId()).toMatch(/^\d{8}t\d{6}-[0-9a-f]{8}$/);
  });

  it('finds no id in names of another form', () => {
    for (const name of [
      `${idA}.parquet`,
      `${idA}-0.parquet.tmp`,
      `x${idA}-0.parquet`,
      '20260301T000000-aaaaaaaa-0.parquet',
      `${idA}-x.parquet`,
    ])
      expect(ingestIdOfFile(name), name).toBeUndefined();
  });

  it('tells a temporary manifest from the manifest and other files', () => {
    expect(isManifestTemporary('_ingests.jsonl.ingest-1.tmp')).toBe(true);
    expect(isManifestTemporary('_ingests.jsonl')).toBe(false);
    expect(isManifestTemporary('_ingests.jsonl.tmp.bak')).toBe(false);
    expect(isManifestTemporary('other.jsonl.x.tmp')).toBe(false);
  });
});

describe('parseManifestState', () => {
  it('keeps ingest records and well-formed replaced-file lines, skipping torn, blank and unknown lines', () => {
    const replaced = {
      kind: 'replaced-files',
      replacedBy: 'c1',
      at: '2026-03-01T00:00:00.000Z',
      keepUntil: '2026-03-01T01:00:00.000Z',
      files: ['orders/dt=2026-03-01/a-0.parquet'],
    };
    const text = [
      JSON.stringify(record(idA)),
      '   ',
      JSON.stringify(replaced),
      JSON.stringify({ ...replaced, replacedBy: 7 }),
      JSON.stringify({ ...replaced, keepUntil: undefined }),
      JSON.stringify({ ...replaced, files: 'a' }),
      JSON.stringify({ ingestId: idB }),
      JSON.stringify({ source: 'orders' }),
      '{"ingestId": "torn',
    ].join('\n');
    expect(parseManifestState(text)).toEqual({ records: [record(idA)], replaced: [replaced] });
  });
});

describe('reading and replacing the manifest', () => {
  it('reads undefined without a manifest, sync or not', async () => {
    const root = await storeWith([]);
    expect(await readManifest(root)).toBeUndefined();
    expect(await readManifestState(root)).toBeUndefined();
    expect(readManifestSync(root)).toBeUndefined();
    expect(readManifestStateSync(root)).toBeUndefined();
    expect(committedSourceFiles(root, 'orders')).toBeUndefined();
    expect(presentCommittedSourceFiles(root, 'orders')).toBeUndefined();
  });

  it('throws a read error other than not-found instead of taking it for an empty store', async () => {
    const root = await storeWith([]);
    await mkdir(manifestPath(root));
    await expect(readManifestState(root)).rejects.toThrow(/EISDIR/);
    expect(() => readManifestSync(root)).toThrow(/EISDIR/);
  });

  it('writes one line per record and replaced entry, and leaves no temporary file', async () => {
    const root = await storeWith([]);
    await writeManifest(root, [record(idA), record(idB)], 'test');
    expect(await readFile(manifestPath(root), 'utf8')).toBe(
      `${JSON.stringify(record(idA))}\n${JSON.stringify(record(idB))}\n`,
    );
    expect(await readManifest(root)).toEqual([record(idA), record(idB)]);
    expect(readManifestSync(root)).toEqual([record(idA), record(idB)]);
    expect(await readdir(root)).toEqual(['_ingests.jsonl']);
  });

  it('keeps the old manifest and removes its temporary file when the step before the rename fails', async () => {
    const root = await storeWith([]);
    await writeManifest(root, [record(idA)], 'first');
    await expect(
      replaceManifest(root, { records: [record(idB)], replaced: [] }, 'second', () => {
        throw new Error('crash before rename');
      }),
    ).rejects.toThrow('crash before rename');
    expect(await readManifest(root)).toEqual([record(idA)]);
    expect(await readdir(root)).toEqual(['_ingests.jsonl']);
  });
});

describe('committed files', () => {
  it("lists a source's files from the records, once each and sorted, and legacy records' files by their id", async () => {
    const root = await storeWith([
      `orders/dt=2026-03-01/${idA}-0.parquet`,
      `orders/dt=2026-03-02/${idA}-1.parquet`,
      `orders/dt=2026-03-01/20260301t000009-cccccccc-0.parquet`,
      `orders/dt=2026-03-01/${idA}-0.txt`,
      'orders/stray.parquet',
    ]);
    const records = [
      record(idA),
      record(idB, [
        'orders/dt=2026-03-02/b-0.parquet',
        'orders/dt=2026-03-01/b-0.parquet',
        'orders/dt=2026-03-01/b-0.parquet',
      ]),
      record('20260301t000002-dddddddd', ['events/dt=2026-03-01/d-0.parquet'], 'events'),
    ];
    expect(committedFilesOf(root, 'orders', records)).toEqual(
      [
        `orders/dt=2026-03-01/${idA}-0.parquet`,
        'orders/dt=2026-03-01/b-0.parquet',
        `orders/dt=2026-03-02/${idA}-1.parquet`,
        'orders/dt=2026-03-02/b-0.parquet',
      ].map((f) => path.join(root, f)),
    );
    expect(committedFilesOf(root, 'events', records)).toEqual([
      path.join(root, 'events/dt=2026-03-01/d-0.parquet'),
    ]);
  });

  it('finds every Parquet file of a source in its partition folders, and none for a missing source', async () => {
    const root = await storeWith([
      'orders/dt=2026-03-01/a-0.parquet',
      'orders/dt=2026-03-01/b.csv',
      'orders/loose.parquet',
    ]);
    expect(sourceDataFiles(root, 'orders')).toEqual([
      { folder: path.join(root, 'orders/dt=2026-03-01'), name: 'a-0.parquet' },
    ]);
    expect(sourceDataFiles(root, 'nothing')).toEqual([]);
    expect(sourceDataFiles(path.join(root, 'orders/loose.parquet'), 'x')).toEqual([]);
  });

  it('refuses a committed file that is gone, naming it, its ingest, and the manifest line to remove', async () => {
    const root = await storeWith(['orders/dt=2026-03-01/a-0.parquet']);
    await writeManifest(
      root,
      [
        record(idA, ['orders/dt=2026-03-01/a-0.parquet']),
        record(idB, ['orders/dt=2026-03-01/b-0.parquet']),
      ],
      'test',
    );
    expect(committedSourceFiles(root, 'orders')).toHaveLength(2);
    let error: unknown;
    try {
      presentCommittedSourceFiles(root, 'orders');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MissingCommittedFilesError);
    const missing = error as MissingCommittedFilesError;
    expect(missing.source).toBe('orders');
    expect(missing.missing).toEqual([path.join(root, 'orders/dt=2026-03-01/b-0.parquet')]);
    expect(missing.message).toBe(
      `1 committed data file of source "orders" is missing: ${path.join(root, 'orders/dt=2026-03-01/b-0.parquet')}; ingest ${idB} (/in/${idB}.csv)`,
    );
    expect(missing.hint).toBe(
      `restore the missing file(s) from a backup. To give up that ingest instead, remove its line from ${manifestPath(root)} (the manifest, not the folder, says what is stored) and run fstore ingest again on the file`,
    );
  });

  it('names only the ingests of that source holding a missing file, one missing file enough', async () => {
    const root = await storeWith(['orders/dt=2026-03-01/a-0.parquet']);
    await writeManifest(
      root,
      [
        record(idA, ['orders/dt=2026-03-01/a-0.parquet', 'orders/dt=2026-03-01/gone-0.parquet']),
        record(idB, ['orders/dt=2026-03-01/a-0.parquet']),
        record('20260301t000002-cccccccc', ['orders/dt=2026-03-01/gone-0.parquet'], 'events'),
        record('20260301t000003-dddddddd'),
      ],
      'test',
    );
    expect(() => presentCommittedSourceFiles(root, 'orders')).toThrow(
      `1 committed data file of source "orders" is missing: ${path.join(root, 'orders/dt=2026-03-01/gone-0.parquet')}; ingest ${idA} (/in/${idA}.csv)`,
    );
  });

  it('lists at most five missing files and every ingest they belong to', () => {
    const missing = ['1', '2', '3', '4', '5', '6'].map((n) => `/s/${n}.parquet`);
    const error = new MissingCommittedFilesError(
      'orders',
      missing,
      [record(idA), record(idB)],
      '/s/_ingests.jsonl',
    );
    expect(error.message).toBe(
      `6 committed data files of source "orders" are missing: /s/1.parquet, /s/2.parquet, /s/3.parquet, /s/4.parquet, /s/5.parquet, ...; ingests ${idA} (/in/${idA}.csv), ${idB} (/in/${idB}.csv)`,
    );
    expect(error.hint).toContain(
      'To give up those ingests instead, remove their lines from /s/_ingests.jsonl',
    );
    expect(
      new MissingCommittedFilesError('orders', missing.slice(0, 5), [record(idA)], '/m').message,
    ).toBe(
      `5 committed data files of source "orders" are missing: /s/1.parquet, /s/2.parquet, /s/3.parquet, /s/4.parquet, /s/5.parquet; ingest ${idA} (/in/${idA}.csv)`,
    );
    expect(new MissingCommittedFilesError('orders', ['/s/1.parquet'], [], '/m').message).toBe(
      '1 committed data file of source "orders" is missing: /s/1.parquet',
    );
  });

  it('returns the files when all are there', async () => {
    const root = await storeWith(['orders/dt=2026-03-01/a-0.parquet']);
    await writeManifest(root, [record(idA, ['orders/dt=2026-03-01/a-0.parquet'])], 'test');
    expect(presentCommittedSourceFiles(root, 'orders')).toEqual([
      path.join(root, 'orders/dt=2026-03-01/a-0.parquet'),
    ]);
  });
});

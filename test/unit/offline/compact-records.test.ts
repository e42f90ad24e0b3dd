import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordsAfterMerges } from '../../../lib/offline/compact-records.ts';
import type { IngestRecord } from '../../../lib/offline/ingest-manifest.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

const record = (ingestId: string, files?: string[]): IngestRecord => ({
  ingestId,
  source: 'orders',
  file: `/in/${ingestId}.csv`,
  sha256: ingestId,
  rows: 10,
  firstSeq: 1,
  at: '2026-03-01T00:00:00.000Z',
  ...(files ? { files } : {}),
});

describe('recordsAfterMerges', () => {
  it('points every ingest with a replaced file at the merged files of that partition, once each, and leaves the rest alone', async () => {
    const root = '/store/offline';
    const a = record('20260301t000000-aaaaaaaa', [
      'orders/dt=2026-03-01/20260301t000000-aaaaaaaa-0.parquet',
      'orders/dt=2026-03-02/20260301t000000-aaaaaaaa-0.parquet',
    ]);
    const b = record('20260301t000001-bbbbbbbb', [
      'orders/dt=2026-03-01/20260301t000001-bbbbbbbb-0.parquet',
    ]);
    const other = {
      ...record('20260301t000002-cccccccc', ['events/dt=2026-03-01/x-0.parquet']),
      source: 'events',
    };
    const merged = path.join(root, 'orders/dt=2026-03-01/20260302t000000-dddddddd-0.parquet');
    const after = recordsAfterMerges(
      root,
      [a, b, other],
      [
        {
          source: 'orders',
          replaced: [
            path.join(root, 'orders/dt=2026-03-01/20260301t000000-aaaaaaaa-0.parquet'),
            path.join(root, 'orders/dt=2026-03-01/20260301t000001-bbbbbbbb-0.parquet'),
          ],
          merged: [merged],
        },
      ],
    );
    expect(after[0]).toEqual({
      ...a,
      files: [
        'orders/dt=2026-03-01/20260302t000000-dddddddd-0.parquet',
        'orders/dt=2026-03-02/20260301t000000-aaaaaaaa-0.parquet',
      ],
    });
    expect(after[1]).toEqual({
      ...b,
      files: ['orders/dt=2026-03-01/20260302t000000-dddddddd-0.parquet'],
    });
    expect(after[2]).toBe(other);
  });

  it('lists the files of a record written before the commit rule (no files), since merged files do not carry its id', async () => {
    const root = await makeTempDir('compact-records');
    const id = '20250101t000000-eeeeeeee';
    for (const day of ['2025-01-01', '2025-01-02']) {
      await mkdir(path.join(root, 'orders', `dt=${day}`), { recursive: true });
      await writeFile(path.join(root, 'orders', `dt=${day}`, `${id}-0.parquet`), '');
    }
    const legacy = record(id);
    const merged = path.join(root, 'orders/dt=2025-01-01/20260302t000000-ffffffff-0.parquet');
    const [after] = recordsAfterMerges(
      root,
      [legacy],
      [
        {
          source: 'orders',
          replaced: [path.join(root, `orders/dt=2025-01-01/${id}-0.parquet`)],
          merged: [merged],
        },
      ],
    );
    expect([...(after?.files ?? [])].sort()).toEqual([
      `orders/dt=2025-01-01/20260302t000000-ffffffff-0.parquet`,
      `orders/dt=2025-01-02/${id}-0.parquet`,
    ]);
  });
});

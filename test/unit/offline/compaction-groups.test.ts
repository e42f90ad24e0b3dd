import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafColumns, planCompaction, type SchemaNode } from '../../../lib/offline/compact-plan.ts';
import { type DuckdbSession, openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import type { IngestRecord } from '../../../lib/offline/ingest-manifest.ts';
import { makeTempDir } from '../../helpers/run-fstore.ts';

let duckdb: DuckdbSession;
beforeAll(async () => {
  duckdb = await openDuckdb();
});
afterAll(() => duckdb.close());

const node = (
  name: string,
  children: number,
  type: string | null = null,
  logical: string | null = null,
): SchemaNode => ({
  name,
  type,
  repetition: children > 0 ? null : 'OPTIONAL',
  num_children: children,
  converted: null,
  logical,
});

describe('leafColumns', () => {
  it('gives each leaf its full path below the root, closing groups once their children are read', () => {
    expect(
      leafColumns([
        node('duckdb_schema', 3),
        node('id', 0, 'INT64'),
        node('tags', 1n as unknown as number),
        node('list', 1),
        node('element', 0, 'BYTE_ARRAY', 'StringType()'),
        node('fstore_seq', 0, 'INT64'),
      ]),
    ).toEqual([
      'id\tINT64\tOPTIONAL\t\t',
      'tags.list.element\tBYTE_ARRAY\tOPTIONAL\t\tStringType()',
      'fstore_seq\tINT64\tOPTIONAL\t\t',
    ]);
  });

  it('treats a missing child count as a leaf', () => {
    expect(
      leafColumns([node('root', 1), { ...node('x', 0, 'INT32'), num_children: null }]),
    ).toEqual(['x\tINT32\tOPTIONAL\t\t']);
  });

  it('refuses an element with no open group, naming it', () => {
    expect(() => leafColumns([node('root', 1), node('a', 0), node('stray', 0)])).toThrow(
      'internal: Parquet schema element "stray" has no parent',
    );
  });

  it('gives nothing for an empty schema', () => {
    expect(leafColumns([])).toEqual([]);
  });
});

describe('planCompaction over real Parquet files', () => {
  let root: string;
  let records: IngestRecord[];
  const sizes = new Map<string, number>();

  // orders/dt=2026-03-01: a, b (same columns), c (a list column named differently: not mergeable
  // with d), d; e has no fstore_seq; dt=2026-03-02: one small file alone; dt=2026-03-03: two files.
  const layout: Record<string, string> = {
    'dt=2026-03-01/a-0.parquet': 'SELECT 1::BIGINT AS id, 1::BIGINT AS fstore_seq',
    'dt=2026-03-01/b-0.parquet': 'SELECT 2::BIGINT AS id, 2::BIGINT AS fstore_seq',
    'dt=2026-03-01/c-0.parquet': "SELECT ['x'] AS tags, 3::BIGINT AS fstore_seq",
    'dt=2026-03-01/d-0.parquet': "SELECT ['y'] AS labels, 4::BIGINT AS fstore_seq",
    'dt=2026-03-01/e-0.parquet': 'SELECT 5::BIGINT AS id, 5::BIGINT AS seq',
    'dt=2026-03-01/f-0.parquet': 'SELECT 6::BIGINT AS id, 6::BIGINT AS fstore_seq',
    'dt=2026-03-02/g-0.parquet': 'SELECT 7::BIGINT AS id, 7::BIGINT AS fstore_seq',
    'dt=2026-03-03/h-0.parquet': 'SELECT 8::BIGINT AS id, 8::BIGINT AS fstore_seq',
    'dt=2026-03-03/i-0.parquet': 'SELECT 9::BIGINT AS id, 9::BIGINT AS fstore_seq',
  };

  beforeAll(async () => {
    root = path.join(await makeTempDir('compaction-groups'), 'offline');
    for (const [file, select] of Object.entries(layout)) {
      const absolute = path.join(root, 'orders', file);
      await mkdir(path.dirname(absolute), { recursive: true });
      await duckdb.connection.run(`COPY (${select}) TO '${absolute}' (FORMAT PARQUET)`);
      sizes.set(file, (await stat(absolute)).size);
    }
    records = [
      {
        ingestId: '20260301t000000-aaaaaaaa',
        source: 'orders',
        file: '/in/orders.csv',
        sha256: 'a',
        rows: 9,
        firstSeq: 1,
        at: '2026-03-01T00:00:00.000Z',
        files: Object.keys(layout).map((file) => `orders/${file}`),
      },
    ];
  });

  const abs = (file: string) => path.join(root, 'orders', file);

  it('groups the small files of a partition that have the same columns and fstore_seq, partitions in order', async () => {
    const groups = await planCompaction(duckdb.connection, root, 'orders', records, 1_000_000);
    expect(groups).toEqual([
      {
        source: 'orders',
        partition: 'dt=2026-03-01',
        files: [
          abs('dt=2026-03-01/a-0.parquet'),
          abs('dt=2026-03-01/b-0.parquet'),
          abs('dt=2026-03-01/f-0.parquet'),
        ],
        bytes:
          (sizes.get('dt=2026-03-01/a-0.parquet') ?? 0) +
          (sizes.get('dt=2026-03-01/b-0.parquet') ?? 0) +
          (sizes.get('dt=2026-03-01/f-0.parquet') ?? 0),
      },
      {
        source: 'orders',
        partition: 'dt=2026-03-03',
        files: [abs('dt=2026-03-03/h-0.parquet'), abs('dt=2026-03-03/i-0.parquet')],
        bytes:
          (sizes.get('dt=2026-03-03/h-0.parquet') ?? 0) +
          (sizes.get('dt=2026-03-03/i-0.parquet') ?? 0),
      },
    ]);
  });

  it('leaves out files at or above the target size', async () => {
    const aSize = sizes.get('dt=2026-03-01/a-0.parquet') ?? 0;
    const bSize = sizes.get('dt=2026-03-01/b-0.parquet') ?? 0;
    expect(aSize).toBe(bSize);
    // Every file of these two-column layouts has the same size: a target equal to it keeps none.
    expect(await planCompaction(duckdb.connection, root, 'orders', records, aSize)).toEqual([]);
    const justAbove = await planCompaction(duckdb.connection, root, 'orders', records, aSize + 1);
    expect(justAbove.map((g) => g.partition)).toEqual(['dt=2026-03-01', 'dt=2026-03-03']);
  });

  it('plans nothing for a source with no committed files', async () => {
    expect(await planCompaction(duckdb.connection, root, 'events', records, 1_000_000)).toEqual([]);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { plannedOnlineView } from '../../../lib/materialize/materialize-view.ts';
import { openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { subtractSeqRanges } from '../../../lib/seq-ranges.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import {
  renderTileBaseRows,
  type TileBaseRowsQuery,
} from '../../../lib/sql/render-tile-base-rows.ts';
import { seqBucketRows } from '../../../lib/sql/seq-buckets.ts';
import { duckdbTileBaseRanges } from '../../helpers/tile-base-ranges-on-duckdb.ts';

const account = defineEntity({
  name: 'account',
  joinKeys: [{ name: 'account_id', type: 'int64' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { account_id: 'int64', qty: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const registry = compileRegistry([
  {
    definition: defineAggregationView({
      name: 'order_tiles',
      entities: [account],
      source: orders,
      aggregations: { qty: { functions: ['sum'], windows: ['1d'] } },
      online: true,
      onlineTiles: true,
      schedule: 'rate(1 hour)',
    }),
  },
]);
const { planned } = plannedOnlineView(registry, 'order_tiles');
const query = (entities: TileBaseRowsQuery['entities']): TileBaseRowsQuery => ({
  entities,
  afterMicros: 0n,
  maxSeq: 10n,
  excludedSeqRanges: [],
  columns: { qty: 'int64' },
});
const render = (entities: TileBaseRowsQuery['entities']) =>
  renderTileBaseRows(planned, duckdbDialect('/offline'), query(entities));

describe('the offline rows of a tile base refuse entities they cannot name', () => {
  it('refuses an int64 join key value that is not an integer, before any SQL is built from it', () => {
    expect(() => render([['1 OR TRUE']])).toThrow(
      'join key account_id is not an integer: 1 OR TRUE',
    );
    expect(() => render([['12x']])).toThrow('not an integer: 12x');
    expect(() => render([['x12']])).toThrow('not an integer: x12');
    expect(() => render([['-']])).toThrow('not an integer: -');
    expect(render([[-12], ['34']])).toContain('("account_id" = -12)\n    OR ("account_id" = 34)');
  });

  it('refuses an empty entity list and an entity with more values than the view has join keys', () => {
    expect(() => render([])).toThrow('internal: a tile base query needs entities');
    expect(() => render([[1, 2]])).toThrow(
      'internal: entity has more values than order_tiles has join keys',
    );
  });
});

describe('the offline rows of a tile base, run on DuckDB', () => {
  let session: Awaited<ReturnType<typeof openDuckdb>>;
  beforeAll(async () => {
    session = await openDuckdb();
  });
  afterAll(() => session.close());
  // Rows numbered 1-3 and 8-9 (read), 5 (an ingest committed after the records were read,
  // numbered lower by its writer's clock) and 12 (past the sequence).
  const dialect = {
    ...duckdbDialect('/offline'),
    sourceRelation: () =>
      `(SELECT * FROM (VALUES ${[1, 2, 3, 5, 8, 9, 12]
        .map((seq) => `(7, ${seq}, TIMESTAMP '2026-03-01 00:00:00', ${seq}::BIGINT)`)
        .join(', ')}) t(account_id, qty, event_ts, fstore_seq))`,
  };
  const seqs = async (included?: [bigint, bigint][]) => {
    const sql = renderTileBaseRows(planned, dialect, {
      ...query([[7]]),
      ...(included ? { includedSeqRanges: included } : {}),
      excludedSeqRanges: [[2n, 2n]],
    });
    const rows = (await session.connection.runAndReadAll(sql)).getRowObjects();
    return rows.map((row) => Number(row.fstore_seq));
  };

  it("holds only the rows of the ingests read, less the pushes' rows, up to the sequence", async () => {
    expect(
      await seqs([
        [1n, 3n],
        [8n, 9n],
      ]),
    ).toEqual([1, 3, 8, 9]);
  });

  it('holds every committed row up to the sequence when no ranges are given', async () => {
    expect(await seqs()).toEqual([1, 3, 5, 8, 9]);
  });

  it('refuses an empty list of ranges read', () => {
    expect(() =>
      renderTileBaseRows(planned, dialect, { ...query([[7]]), includedSeqRanges: [] }),
    ).toThrow(/needs committed rows/);
  });

  it('with everyEntity, gives an entity of the query without a base row one row of NULLs, in key order among the others', async () => {
    const sql = renderTileBaseRows(planned, dialect, {
      ...query({ sql: 'SELECT * FROM (VALUES (9), (7), (3), (7)) r(account_id)' }),
      includedSeqRanges: [[1n, 9n]],
      excludedSeqRanges: [[2n, 2n]],
      everyEntity: true,
    });
    const rows = (await session.connection.runAndReadAll(sql)).getRowObjects();
    const number = (value: unknown) => (value === null ? null : Number(value));
    expect(rows.map((row) => [row.account_id, row.fstore_seq, row.qty].map(number))).toEqual([
      [3, null, null],
      [7, 1, 1],
      [7, 3, 3],
      [7, 5, 5],
      [7, 8, 8],
      [7, 9, 9],
      [9, null, null],
    ]);
  });
});

describe('the ranges of a tile base, on DuckDB, over clock-numbered ingests', () => {
  let session: Awaited<ReturnType<typeof openDuckdb>>;
  beforeAll(async () => {
    session = await openDuckdb();
  });
  afterAll(() => session.close());
  // 60 ingests of 4 rows, numbered as on S3 (ms × 2^20, a minute apart): mostly pushes applied
  // to tiles whole, some batch ingests, some pushes tiled in part; and two ingests committed
  // after the records were read, numbered lower by their writers' clocks: a tiled push between
  // two batch ingests and a batch ingest between two pushes. Neither may be counted.
  const minute = 60_000n * 1_048_576n;
  const start = 1_767_225_600_000n * 1_048_576n;
  const kinds = Array.from({ length: 60 }, (_, i) =>
    i % 7 === 3 ? 'batch' : i % 11 === 5 ? 'part' : 'tiled',
  );
  const firstOf = (i: number) => start + BigInt(i) * minute;
  const tiledOf = (i: number): [bigint, bigint][] =>
    kinds[i] === 'tiled'
      ? [[firstOf(i), firstOf(i) + 3n]]
      : kinds[i] === 'part'
        ? [[firstOf(i) + 1n, firstOf(i) + 2n]]
        : [];
  const lateTiled = firstOf(10) + minute / 2n;
  const lateBatch = firstOf(20) + minute / 2n;
  const allSeqs = [
    ...kinds.flatMap((_, i) => [0n, 1n, 2n, 3n].map((offset) => firstOf(i) + offset)),
    ...[0n, 1n].map((offset) => lateTiled + offset),
    ...[0n, 1n].map((offset) => lateBatch + offset),
  ];
  const dialect = {
    ...duckdbDialect('/offline'),
    sourceRelation: () =>
      `(SELECT * FROM (VALUES ${allSeqs
        .map((seq) => `(7, 1, TIMESTAMP '2026-03-01 00:00:00', ${seq}::BIGINT)`)
        .join(', ')}) t(account_id, qty, event_ts, fstore_seq))`,
  };

  it('counts exactly the untiled rows of the ingests read, naming one range per run of them', async () => {
    expect(kinds[10]).toBe('batch');
    expect(kinds.slice(20, 22)).toEqual(['tiled', 'tiled']);
    const included = kinds.map((_, i): [bigint, bigint] => [firstOf(i), firstOf(i) + 3n]);
    const excluded = kinds.flatMap((_, i) => tiledOf(i));
    const sql = renderTileBaseRows(planned, dialect, {
      ...query([[7]]),
      maxSeq: firstOf(59) + 3n,
      includedSeqRanges: included,
      excludedSeqRanges: excluded,
    });
    const seqsOf = async (text: string) =>
      (await session.connection.runAndReadAll(text))
        .getRowObjects()
        .map((row) => BigInt(row.fstore_seq as bigint));
    // The form before ranges were merged: every record read, AND NOT every tiled range.
    const between = ([first, last]: [bigint, bigint]) => `fstore_seq BETWEEN ${first} AND ${last}`;
    const unmerged = sql.replace(
      /^ {2}AND \(fstore_seq.*$/m,
      `  AND (${included.map(between).join(' OR ')})\n  AND NOT (${excluded.map(between).join(' OR ')})`,
    );
    expect(unmerged).not.toBe(sql);
    expect(await seqsOf(sql)).toEqual(await seqsOf(unmerged));
    const expected = kinds.flatMap((kind, i) =>
      kind === 'batch'
        ? [0n, 1n, 2n, 3n].map((o) => firstOf(i) + o)
        : kind === 'part'
          ? [firstOf(i), firstOf(i) + 3n]
          : [],
    );
    expect(await seqsOf(sql)).toEqual(expected);
    const batches = kinds.filter((kind) => kind === 'batch').length;
    const parts = kinds.filter((kind) => kind === 'part').length;
    expect(sql.match(/fstore_seq (BETWEEN|=)/g)).toHaveLength(batches + 2 * parts);
  });
});

describe('the ranges of a tile base shipped as data, on DuckDB', () => {
  let session: Awaited<ReturnType<typeof openDuckdb>>;
  let dir: string;
  beforeAll(async () => {
    session = await openDuckdb();
    dir = await mkdtemp(path.join(tmpdir(), 'fstore-tile-ranges-'));
  });
  afterAll(async () => {
    session.close();
    await rm(dir, { recursive: true, force: true });
  });
  // 4,000 ingests numbered as on S3 (ms × 2^20), every other one a tiled push, so 2,000
  // counted ranges; one batch ingest of 3 × 2^20 rows starting 2 below a bucket's end spans
  // five buckets; one ingest committed late, numbered between two read ones, is not read.
  const ms = 1_048_576n;
  const start = 1_767_225_600_000n * ms;
  const firstOf = (i: number) => start + BigInt(i) * 60_000n * ms;
  const big: [bigint, bigint] = [firstOf(4_000) - 2n, firstOf(4_000) - 3n + 3n * ms];
  const late = firstOf(17) + 30_000n * ms;
  const included = [
    ...Array.from({ length: 4_000 }, (_, i): [bigint, bigint] => [firstOf(i), firstOf(i) + 2n]),
    big,
  ];
  const excluded = included.filter((_, i) => i % 2 === 1 && i < 4_000);
  const bigSeqs = [big[0], big[0] + 1n, big[0] + 2n, big[0] + ms + 5n, big[1] - 1n, big[1]];
  const allSeqs = [
    ...included.slice(0, 4_000).flatMap(([first]) => [first, first + 1n, first + 2n]),
    ...bigSeqs,
    late,
    late + 1n,
  ];
  const dialect = {
    ...duckdbDialect('/offline'),
    sourceRelation: () =>
      `(SELECT * FROM (VALUES ${allSeqs
        .map((seq, i) => `(${i % 3}, 1, TIMESTAMP '2026-03-01 00:00:00', ${seq}::BIGINT)`)
        .join(', ')}) t(account_id, qty, event_ts, fstore_seq))`,
  };
  const rowsOf = async (text: string) =>
    (await session.connection.runAndReadAll(text))
      .getRowObjects()
      .map((row) => `${row.account_id}:${row.fstore_seq}`);

  it('joins the same rows as the ranges named in the text, by entity list and by every entity of a query, in a query whose length does not follow the ranges', async () => {
    const counted = subtractSeqRanges(included, excluded);
    expect(counted).toHaveLength(2_001);
    const relation = duckdbTileBaseRanges(dir, 'run1', seqBucketRows(counted));
    const base = {
      ...query([[0], [1], [2]]),
      maxSeq: big[1],
      includedSeqRanges: included,
      excludedSeqRanges: excluded,
    };
    const forms = [
      base,
      {
        ...base,
        entities: { sql: 'SELECT * FROM (VALUES (0), (2), (5)) e(account_id)' },
        everyEntity: true,
      },
    ];
    for (const form of forms) {
      const named = renderTileBaseRows(planned, dialect, form);
      const joined = renderTileBaseRows(planned, dialect, {
        ...form,
        countedRangesRelation: relation,
      });
      expect(named.match(/BETWEEN/g)?.length).toBeGreaterThan(2_000);
      expect(joined.match(/BETWEEN/g)).toHaveLength(1);
      // Beside the rows (a VALUES list here, a table on Athena).
      expect(joined.replace(dialect.sourceRelation(), '').length).toBeLessThan(2_000);
      const rows = await rowsOf(joined);
      expect(rows).toEqual(await rowsOf(named));
      expect(rows.length).toBeGreaterThan(3_000);
    }
    const seqs = (
      await rowsOf(
        renderTileBaseRows(planned, dialect, { ...base, countedRangesRelation: relation }),
      )
    ).map((r) => BigInt(r.split(':')[1] ?? ''));
    for (const seq of bigSeqs) expect(seqs).toContain(seq);
    expect(seqs).not.toContain(late);
    expect(seqs).not.toContain(firstOf(1));
    expect(seqs).toContain(firstOf(2) + 2n);
  });

  it('writes one line per bucket a range touches, so a value matches one line', () => {
    const lines = seqBucketRows([
      [ms - 2n, 3n * ms + 1n],
      [5n * ms, 5n * ms],
    ])
      .trim()
      .split('\n');
    expect(lines).toEqual([
      `0,${ms - 2n},${3n * ms + 1n}`,
      `${ms},${ms - 2n},${3n * ms + 1n}`,
      `${2n * ms},${ms - 2n},${3n * ms + 1n}`,
      `${3n * ms},${ms - 2n},${3n * ms + 1n}`,
      `${5n * ms},${5n * ms},${5n * ms}`,
    ]);
    expect(() => seqBucketRows([[4n, 3n]])).toThrow(/seq range \[4, 3\]/);
  });
});

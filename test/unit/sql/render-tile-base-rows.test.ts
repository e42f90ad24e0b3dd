import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineSource,
} from '../../../lib/definitions/index.ts';
import { plannedOnlineView } from '../../../lib/materialize/materialize-view.ts';
import { openDuckdb } from '../../../lib/offline/duckdb-session.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { duckdbDialect } from '../../../lib/sql/duckdb-dialect.ts';
import {
  renderTileBaseRows,
  type TileBaseRowsQuery,
} from '../../../lib/sql/render-tile-base-rows.ts';

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
});

import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { orderStats } from '../../feature-defs/views.ts';
import { defineFeatureService } from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compileRegistry, loadDefinitions } from '../../lib/registry/index.ts';
import {
  entityRequestColumns,
  millisecondRange,
  nullEventTimestampMessage,
  outsideRangeMessage,
  renderServiceRequest,
  renderServiceRequestSql,
} from '../../lib/sql/athena-service-query.ts';
import type { Dialect } from '../../lib/sql/dialect.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { createEntityRequestTable } from '../helpers/entity-request-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { repoRoot } from '../helpers/run-fstore.ts';

const loaded = await loadDefinitions(path.join(repoRoot, 'feature-defs'));
const registry = compileRegistry(loaded);
/** An aggregation service: its statement reads `orders` back to the widest window (90 days). */
const orderActivity = defineFeatureService({
  name: 'order_activity',
  features: [orderStats],
  description: 'Order windows, for this test.',
  owner: 'test@example.com',
});

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;
let fixture: Fixture;

/** The request rows of the tests: request "mine" spans 2026-03-06 to 2026-03-11. */
const requestRows = [
  "('mine', 'a', 'C1', TIMESTAMP '2026-03-06 00:00:00')",
  "('mine', 'b', 'C1', TIMESTAMP '2026-03-11 00:00:00')",
  "('mine', 'c', 'C2', TIMESTAMP '2026-03-11 00:00:00')",
  "('other', 'z', 'C1', TIMESTAMP '2020-01-01 00:00:00')",
];
const mine = [
  { row_key: 'a', customer_id: 'C1', event_timestamp: '2026-03-06T00:00:00Z' },
  { row_key: 'b', customer_id: 'C1', event_timestamp: '2026-03-11T00:00:00Z' },
  { row_key: 'c', customer_id: 'C2', event_timestamp: '2026-03-11T00:00:00Z' },
];

/**
 * Runs a service's statement on DuckDB with the parameters bound positionally, as `EXECUTE
 * fstore_<service> USING ...` binds them; `setup` may add tables to the session first.
 */
async function execute(
  service: string,
  parameters: [requestId: string, min: string, max: string],
  options: { dialect?: Dialect; setup?: string[] } = {},
): Promise<Record<string, unknown>[]> {
  const session = await openDuckdb();
  try {
    const { connection } = session;
    await connection.run('CREATE SCHEMA fstore_dev');
    await createEntityRequestTable(connection, {
      registry: fixture.registry,
      service,
      database: 'fstore_dev',
      rows: requestRows,
    });
    for (const statement of options.setup ?? []) await connection.run(statement);
    const statement = renderServiceRequest(
      fixture.registry,
      service,
      'fstore_dev',
      options.dialect ?? duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
    );
    const [requestId, min, max] = parameters;
    const values = { request_id: requestId, min, max };
    const prepared = await connection.prepare(statement.sql);
    statement.parameters.forEach((name, i) => {
      prepared.bindVarchar(i + 1, values[name]);
    });
    return (await prepared.runAndReadAll()).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    session.close();
  }
}

const instant = (value: unknown) => {
  const text = String(value).replace(' ', 'T');
  const ms = Date.parse(/(Z|[+-]\d\d:\d\d)$/.test(text) ? text : `${text}Z`);
  expect(ms, `timestamp ${String(value)}`).not.toBeNaN();
  return ms;
};
/** Timestamps as instants; DuckDB's JSON rows give BIGINT (counts) as digit strings. */
const comparable = (rows: readonly Record<string, unknown>[]) =>
  rows.map((r) => ({
    ...Object.fromEntries(
      Object.entries(r).map(([k, v]) => [
        k,
        typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v,
      ]),
    ),
    event_timestamp: instant(r.event_timestamp),
  }));

beforeAll(async () => {
  fixture = await offlineFixture([...loaded.map((d) => d.definition), orderActivity]);
  await fixture.ingest('customer_profiles', [
    {
      customer_id: 'C1',
      age: 30,
      plan: 'basic',
      region: 'north',
      monthly_charges: 20,
      tenure_months: 3,
      event_ts: '2026-03-01T00:00:00Z',
      created_ts: '2026-03-01T00:00:00Z',
    },
    {
      customer_id: 'C1',
      age: 30,
      plan: 'premium',
      region: 'north',
      monthly_charges: 90,
      tenure_months: 4,
      event_ts: '2026-03-10T00:00:00Z',
      created_ts: '2026-03-10T00:00:00Z',
    },
  ]);
  await fixture.ingest('customer_contracts', [
    {
      customer_id: 'C1',
      contract_type: 'one_year',
      payment_method: 'card',
      event_ts: '2026-02-01T00:00:00Z',
      created_ts: '2026-02-01T00:00:00Z',
    },
  ]);
  await fixture.ingest('orders', [
    ...[
      ['O0', 40, 'games', '2025-12-20T00:00:00Z'],
      ['O1', 12.5, 'books', '2026-03-05T00:00:00Z'],
      ['O2', 7, 'books', '2026-03-10T12:00:00Z'],
    ].map(([order_id, amount, category, at]) => ({
      order_id,
      customer_id: 'C1',
      amount,
      category,
      event_ts: at,
      created_ts: at,
    })),
  ]);
});

describe('Athena-only training set for a feature service', () => {
  it('has an entity-request table of row_key, the join keys and event_timestamp', () => {
    expect(entityRequestColumns(registry, 'churn_online')).toEqual([
      { name: 'row_key', type: 'string' },
      { name: 'customer_id', type: 'string' },
      { name: 'event_timestamp', type: 'timestamp' },
    ]);
  });

  it('renders one statement whose parameters are the request id, the range, then each source scan’s range, in text order', async () => {
    const { sql, parameters } = renderServiceRequest(registry, 'churn_online', 'fstore_dev');
    // churn_online reads three views, one per source, each with a TTL: min and max per scan.
    expect(parameters).toEqual([
      'request_id',
      'min',
      'max',
      'min',
      'max',
      'min',
      'max',
      'min',
      'max',
    ]);
    const marks = [...sql.matchAll(/\?/g)].map((m) => m.index);
    expect(marks).toHaveLength(parameters.length);
    const textBefore = (i: number) => sql.slice(0, marks[i]);
    expect(textBefore(0)).toMatch(/"request_id" = $/);
    expect(textBefore(1)).toMatch(/"event_timestamp" BETWEEN CAST\($/);
    expect(textBefore(2)).toMatch(/TIMESTAMP\(6\)\) AND CAST\($/);
    expect(textBefore(3)).toMatch(/fstore_s\."dt" >= CAST\(CAST\(\(CAST\($/);
    expect(textBefore(4)).toMatch(/fstore_s\."dt" <= CAST\(CAST\(CAST\($/);
    expect(sql).toContain('FROM "fstore_dev"."fstore_requests_churn_online"');
    await expect(sql).toMatchFileSnapshot('__snapshots__/churn_online.request.athena.sql');
  });

  it('bounds each source scan to the dt partitions from min minus its longest TTL or window to max, and to the request’s keys', () => {
    const sql = renderServiceRequestSql(fixture.registry, 'churn_v1', 'fstore_dev');
    const bound = (source: string) =>
      new RegExp(
        `FROM \\(SELECT "fstore_rows"\\.\\* FROM "fstore_dev"\\."${source}" AS "fstore_rows" [^\\n]*\\) fstore_s WHERE ([^\\n]*)\\)`,
      ).exec(sql)?.[1];
    const day = (e: string) => `CAST(CAST(${e} AS DATE) AS VARCHAR)`;
    const upper = `fstore_s."dt" <= ${day('CAST(? AS TIMESTAMP(6))')}`;
    const lower = (days: number) =>
      `fstore_s."dt" >= ${day(`(CAST(? AS TIMESTAMP(6)) - INTERVAL '${days * 86_400}' SECOND)`)}`;
    const keys = 'fstore_s."customer_id" IN (SELECT "customer_id" FROM "fstore_request")';
    expect(bound('customer_profiles')).toBe(`${lower(30)} AND ${upper} AND ${keys}`);
    expect(bound('customer_contracts')).toBe(`${lower(365)} AND ${upper} AND ${keys}`);
    expect(bound('orders')).toBe(`${lower(90)} AND ${upper} AND ${keys}`);
    const windows = renderServiceRequestSql(fixture.registry, 'order_activity', 'fstore_dev');
    expect(windows).toContain(lower(90));
  });

  for (const service of ['churn_online', 'churn_v1', 'order_activity']) {
    it(`returns, for the rows of one request only, what getTrainingSet returns (${service}, run on DuckDB)`, async () => {
      const rows = await execute(service, ['mine', '2026-03-06 00:00:00', '2026-03-11 00:00:00']);
      for (const strategy of ['asof', 'merge-window'] as const) {
        const trainingSet = await fixture.trainingSet(mine, { request: { service }, strategy });
        const records = trainingSet.records ?? [];
        expect(
          rows.map((r) => Object.keys(r).sort()),
          strategy,
        ).toEqual(records.map((r) => Object.keys(r).sort()));
        expect(comparable(rows), strategy).toEqual(comparable(records));
      }
      expect(rows.map((r) => r.row_key)).toEqual(['a', 'b', 'c']);
    });
  }

  it('gives these rows for churn_online, so the comparisons above are not of two empty answers', async () => {
    const rows = await execute('churn_online', [
      'mine',
      '2026-03-06 00:00:00',
      '2026-03-11 00:00:00',
    ]);
    expect(rows).toEqual([
      {
        row_key: 'a',
        customer_id: 'C1',
        event_timestamp: '2026-03-06 00:00:00',
        plan: 'basic',
        monthly_charges: 20,
        tenure_months: 3,
        contract_type: 'one_year',
        last_order_amount: 12.5,
      },
      {
        row_key: 'b',
        customer_id: 'C1',
        event_timestamp: '2026-03-11 00:00:00',
        plan: 'premium',
        monthly_charges: 90,
        tenure_months: 4,
        contract_type: 'one_year',
        last_order_amount: 7,
      },
      {
        row_key: 'c',
        customer_id: 'C2',
        event_timestamp: '2026-03-11 00:00:00',
        plan: null,
        monthly_charges: null,
        tenure_months: null,
        contract_type: null,
        last_order_amount: null,
      },
    ]);
  });

  it('refuses a request whose rows fall outside the range given, naming the row', async () => {
    await expect(
      execute('churn_online', ['mine', '2026-03-06 00:00:00', '2026-03-10 23:59:59.999999']),
    ).rejects.toThrow(`${outsideRangeMessage}: row_key b, event_timestamp 2026-03-11 00:00:00`);
    await expect(
      execute('churn_online', ['mine', '2026-03-06 00:00:00.000001', '2026-03-11 00:00:00']),
    ).rejects.toThrow(`${outsideRangeMessage}: row_key a`);
  });

  it('keeps a row Athena reads at milliseconds inside the range bound from its microsecond times', async () => {
    // The job's entity times have sub-millisecond digits; Athena reads the stored row at ms.
    const times = { min: '2026-03-06T00:00:00.000999Z', max: '2026-03-11T00:00:00.000001Z' };
    const setup = [
      `INSERT INTO fstore_dev.fstore_requests_churn_online VALUES ('ms', 'a', 'C1', TIMESTAMP '2026-03-06 00:00:00.000'), ('ms', 'b', 'C1', TIMESTAMP '2026-03-11 00:00:00.000')`,
    ];
    const sqlText = (iso: string) => iso.replace('T', ' ').replace('Z', '');
    const bound = millisecondRange(times);
    const rows = await execute('churn_online', ['ms', sqlText(bound.min), sqlText(bound.max)], {
      setup,
    });
    expect(rows.map((r) => r.row_key)).toEqual(['a', 'b']);
    await expect(
      execute('churn_online', ['ms', sqlText(times.min), sqlText(times.max)], { setup }),
    ).rejects.toThrow(`${outsideRangeMessage}: row_key a`);
  });

  it('refuses a request with a row whose event_timestamp is NULL, naming the row', async () => {
    await expect(
      execute('churn_online', ['mine', '2026-03-06 00:00:00', '2026-03-11 00:00:00'], {
        setup: [
          `INSERT INTO fstore_dev.fstore_requests_churn_online VALUES ('mine', 'd', 'C3', NULL)`,
        ],
      }),
    ).rejects.toThrow(`${nullEventTimestampMessage}: row_key d, event_timestamp NULL`);
  });

  it('reads no dt partition outside [min - TTL, max]: rows filed under other days are not seen', async () => {
    // Orders filed under a dt other than their event day: the statement can only tell them
    // apart by the partition it reads. The latest order before b (2026-03-11) would be O9 or
    // O10 if their partitions were read; O8 sits on the first day read (min - 90 days).
    const duckdb = duckdbDialect(offlineRoot(fixture.dataDir, 'local'));
    const misfiled = [
      ['O8', 77, '2026-03-10 18:00:00', '2025-12-06'],
      ['O9', 99, '2026-03-10 19:00:00', '2025-12-05'],
      ['O10', 55, '2026-03-10 20:00:00', '2026-03-12'],
    ];
    const rows = await execute(
      'churn_online',
      ['mine', '2026-03-06 00:00:00', '2026-03-11 00:00:00'],
      {
        dialect: {
          ...duckdb,
          sourceRelation: (source) =>
            source === 'orders' ? 'fstore_test.orders' : duckdb.sourceRelation(source),
        },
        setup: [
          'CREATE SCHEMA fstore_test',
          `CREATE TABLE fstore_test.orders AS SELECT * FROM ${duckdb.sourceRelation('orders')}`,
          ...misfiled.map(
            ([id, amount, at, dt], i) =>
              `INSERT INTO fstore_test.orders BY NAME SELECT '${id}' AS order_id, 'C1' AS customer_id, ${amount} AS amount, 'books' AS category, TIMESTAMP '${at}' AS event_ts, TIMESTAMP '${at}' AS created_ts, ${100 + i} AS fstore_seq, '${dt}' AS dt`,
          ),
        ],
      },
    );
    expect(rows.map((r) => [r.row_key, r.last_order_amount])).toEqual([
      ['a', 12.5],
      ['b', 77],
      ['c', null],
    ]);
  });
});

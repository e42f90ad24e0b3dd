import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { compileRegistry, loadDefinitions, type Registry } from '../../lib/registry/index.ts';
import { athenaDialect } from '../../lib/sql/athena-dialect.ts';
import {
  entityRequestColumns,
  renderServiceRequest,
  requestKeyFilter,
} from '../../lib/sql/athena-service-query.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { planPointInTime } from '../../lib/sql/point-in-time-plan.ts';
import { createEntityRequestTable } from '../helpers/entity-request-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { repoRoot } from '../helpers/run-fstore.ts';
import { trinoSyntaxProblems } from '../helpers/trino-grammar.ts';

// One source read by views of an int64, a string and an int32 key: the three join key types.
const store = defineEntity({ name: 'store', joinKeys: [{ name: 'store_id', type: 'int64' }] });
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const till = defineEntity({ name: 'till', joinKeys: [{ name: 'till_id', type: 'int32' }] });
const sales = defineSource({
  name: 'sales',
  schema: {
    store_id: 'int64',
    customer_id: 'string',
    till_id: 'int32',
    value: 'int64',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const view = (name: string, entity: typeof store) =>
  defineFeatureView({ name, entities: [entity], source: sales, features: { value: 'int64' } });
const storeSales = view('store_sales', store);
const customerSales = view('customer_sales', customer);
const tillSales = view('till_sales', till);
const service = defineFeatureService({
  name: 'by_key',
  features: [
    storeSales.select([{ feature: 'value', alias: 'store_value' }]),
    customerSales.select([{ feature: 'value', alias: 'customer_value' }]),
    tillSales.select([{ feature: 'value', alias: 'till_value' }]),
  ],
  description: 'Three key types on one source, for this test.',
  owner: 'test@example.com',
});

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;
let fixture: Fixture;

beforeAll(async () => {
  fixture = await offlineFixture([storeSales, customerSales, tillSales, service]);
  await fixture.ingest('sales', [
    { store_id: 7, customer_id: '42', till_id: 3, value: 1, event_ts: '2026-01-01T00:00:00Z' },
    { store_id: 8, customer_id: '43', till_id: 4, value: 2, event_ts: '2026-01-01T01:00:00Z' },
    { store_id: 7, customer_id: '042', till_id: 4, value: 3, event_ts: '2026-01-01T02:00:00Z' },
    // Beyond 2^53: an int64 key compared as a double would match 2^53 too.
    {
      store_id: '9007199254740993',
      customer_id: 'x',
      till_id: 5,
      value: 4,
      event_ts: '2026-01-01T03:00:00Z',
    },
  ]);
});

/**
 * The service statement on DuckDB for one entity row at 12:00, its key values given as SQL, over
 * a request table typed as the stack's Glue table is (what Athena reads every request file as).
 */
async function execute(
  keys: { store_id: string; customer_id: string; till_id: string },
  prune: boolean,
) {
  const session = await openDuckdb();
  try {
    const { connection } = session;
    await connection.run('CREATE SCHEMA fstore_dev');
    await createEntityRequestTable(connection, {
      registry: fixture.registry,
      service: 'by_key',
      database: 'fstore_dev',
      rows: [
        `('q', 'r1', ${keys.store_id}, ${keys.customer_id}, ${keys.till_id}, TIMESTAMP '2026-01-01 12:00:00')`,
      ],
    });
    const statement = renderServiceRequest(
      fixture.registry,
      'by_key',
      'fstore_dev',
      duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
      { prune },
    );
    const prepared = await connection.prepare(statement.sql);
    const bound = { request_id: 'q', min: '2026-01-01 12:00:00', max: '2026-01-01 12:00:00' };
    statement.parameters.forEach((name, i) => {
      prepared.bindVarchar(i + 1, bound[name]);
    });
    const [row] = (await prepared.runAndReadAll()).getRowObjectsJson();
    return row as Record<string, unknown>;
  } finally {
    session.close();
  }
}

describe('the Athena key semi-join compares the request’s keys bare', () => {
  it('filters each source column by the request column of the same name, with no cast on either side', () => {
    const plan = planPointInTime(
      fixture.registry,
      { service: 'by_key' },
      { entityTimestampColumn: 'event_timestamp' },
    );
    const filter = requestKeyFilter(plan, 'sales', athenaDialect('fstore_dev'));
    expect(filter).toBe(
      '((fstore_s."store_id" IN (SELECT "store_id" FROM "fstore_request")) OR (fstore_s."customer_id" IN (SELECT "customer_id" FROM "fstore_request")) OR (fstore_s."till_id" IN (SELECT "till_id" FROM "fstore_request")))',
    );
    expect(filter).not.toMatch(/CAST/);
  });

  it('relies on the request table’s key columns having the source columns’ types, for every service of feature-defs and this test', async () => {
    const examples = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
    const checked: string[] = [];
    const check = (registry: Registry, name: string) => {
      const requestTypes = new Map(
        entityRequestColumns(registry, name).map((c) => [c.name, c.type]),
      );
      const plan = planPointInTime(
        registry,
        { service: name },
        { entityTimestampColumn: 'event_timestamp' },
      );
      for (const planned of plan.views) {
        const source = registry.sources.find((s) => s.name === planned.source);
        for (const key of planned.joinKeys) {
          const sourceType = source?.schema.find((c) => c.name === key.name)?.type;
          expect(requestTypes.get(key.name), `${name}: ${planned.source}.${key.name}`).toBe(
            sourceType,
          );
          checked.push(`${name}:${planned.source}.${key.name}`);
        }
      }
    };
    for (const { name } of examples.featureServices) check(examples, name);
    check(fixture.registry, 'by_key');
    expect(checked).toContain('by_key:sales.till_id');
    expect(checked.length).toBeGreaterThan(5);
  });

  it('cannot meet a source key column of another type: the definition is refused', () => {
    const textStores = defineSource({
      name: 'text_stores',
      schema: { store_id: 'string', value: 'int64', event_ts: 'timestamp' },
      timestampField: 'event_ts',
    });
    expect(() =>
      defineFeatureView({
        name: 'text_store_sales',
        entities: [store],
        source: textStores,
        features: { value: 'int64' },
      }),
    ).toThrow('join key "store_id" is int64 in entity "store" but string in source "text_stores"');
  });

  it.each([
    ['every key found', '7', "'42'", '3', [3, 1, 1]],
    ['an int64 key beyond 2^53', '9007199254740993', "'x'", '5', [4, 4, 4]],
    ['keys the source does not hold', '1', "'nobody'", '99', [null, null, null]],
    // Athena's reader widens an int32 file column to the declared bigint; DuckDB's insert does too.
    [
      'an int32 value for the int64 key, widened as it is read',
      '7::INTEGER',
      "'42'",
      '3',
      [3, 1, 1],
    ],
    ['NULL keys', 'NULL', 'NULL', 'NULL', [null, null, null]],
  ])(
    'gives the unpruned statement’s answer on a typed request table: %s',
    async (_case, storeId, customerId, tillId, expected) => {
      const keys = { store_id: storeId, customer_id: customerId, till_id: tillId };
      const pruned = await execute(keys, true);
      expect(pruned).toEqual(await execute(keys, false));
      const value = (v: unknown) => (v === null || v === undefined ? null : Number(v));
      expect([
        value(pruned.store_value),
        value(pruned.customer_value),
        value(pruned.till_value),
      ]).toEqual(expected);
    },
  );

  it('parses with the Trino grammar', () => {
    const { sql } = renderServiceRequest(fixture.registry, 'by_key', 'fstore_dev');
    expect(sql).toContain('fstore_s."till_id" IN (SELECT "till_id" FROM "fstore_request")');
    expect(trinoSyntaxProblems(sql)).toEqual([]);
  });
});

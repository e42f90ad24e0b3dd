import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { athenaDialect } from '../../lib/sql/athena-dialect.ts';
import {
  entityRequestTable,
  renderServiceRequest,
  requestKeyFilter,
} from '../../lib/sql/athena-service-query.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { planPointInTime } from '../../lib/sql/point-in-time-plan.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { trinoSyntaxProblems } from '../helpers/trino-grammar.ts';

// The request table's key columns arrive with the types of whatever wrote them (a job's own
// Parquet, a table created by hand); the source's are the declared ones.
const store = defineEntity({ name: 'store', joinKeys: [{ name: 'store_id', type: 'int64' }] });
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const sales = defineSource({
  name: 'sales',
  schema: { store_id: 'int64', customer_id: 'string', value: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const storeSales = defineFeatureView({
  name: 'store_sales',
  entities: [store],
  source: sales,
  features: { value: 'int64' },
  ttl: '2d',
});
const customerSales = defineFeatureView({
  name: 'customer_sales',
  entities: [customer],
  source: sales,
  features: { value: 'int64' },
  ttl: '2d',
});
const service = defineFeatureService({
  name: 'by_key',
  features: [storeSales.select([{ feature: 'value', alias: 'store_value' }]), customerSales],
  description: 'Two key types on one source, for this test.',
  owner: 'test@example.com',
});

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;
let fixture: Fixture;

beforeAll(async () => {
  fixture = await offlineFixture([storeSales, customerSales, service]);
  await fixture.ingest('sales', [
    { store_id: 7, customer_id: '42', value: 1, event_ts: '2026-01-01T00:00:00Z' },
    { store_id: 8, customer_id: '43', value: 2, event_ts: '2026-01-01T01:00:00Z' },
    { store_id: 7, customer_id: '042', value: 3, event_ts: '2026-01-01T02:00:00Z' },
  ]);
});

/** The service statement on DuckDB over a request table with these key columns (SQL values). */
async function execute(keys: { store_id: string; customer_id: string }, prune: boolean) {
  const session = await openDuckdb();
  try {
    const { connection } = session;
    await connection.run('CREATE SCHEMA fstore_dev');
    await connection.run(
      `CREATE TABLE fstore_dev.${entityRequestTable('by_key')} AS SELECT 'q' AS request_id, 'r1' AS row_key, ${keys.store_id} AS store_id, ${keys.customer_id} AS customer_id, TIMESTAMP '2026-01-01 12:00:00' AS event_timestamp`,
    );
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

describe('the Athena key semi-join when the request’s key column has another type than the source’s', () => {
  it.each([
    ['BIGINT, as declared', '7::BIGINT', "'42'", 3, 1],
    ['INTEGER (int32 written for an int64 key)', '7::INTEGER', "'42'", 3, 1],
    ['VARCHAR digits for an int64 key', "'7'", "'42'", 3, 1],
    ['VARCHAR with a leading zero for an int64 key', "'007'", "'42'", null, 1],
    ['VARCHAR that is no number for an int64 key', "'seven'", "'42'", null, 1],
    ['BIGINT for a string key', '7::BIGINT', '42::BIGINT', 3, 1],
    ['a NULL key of another type', 'CAST(NULL AS VARCHAR)', "'42'", null, 1],
  ])(
    'is compared in the source’s declared type and changes no answer: %s',
    async (_case, storeId, customerId, storeValue, customerValue) => {
      const keys = { store_id: storeId, customer_id: customerId };
      const pruned = await execute(keys, true);
      expect(pruned).toEqual(await execute(keys, false));
      // The latest row at or before 12:00 of each key, when the key names a source key.
      expect(String(pruned.store_value ?? null)).toBe(String(storeValue));
      expect(String(pruned.value ?? null)).toBe(String(customerValue));
    },
  );

  it('casts only the request side, so the source column stays bare for a dynamic filter', () => {
    const plan = planPointInTime(
      fixture.registry,
      { service: 'by_key' },
      { entityTimestampColumn: 'event_timestamp' },
    );
    expect(requestKeyFilter(plan, 'sales', athenaDialect('fstore_dev'))).toBe(
      '((fstore_s."store_id" IN (SELECT TRY_CAST("store_id" AS BIGINT) FROM "fstore_request")) OR (fstore_s."customer_id" IN (SELECT TRY_CAST("customer_id" AS VARCHAR) FROM "fstore_request")))',
    );
  });

  it('parses with the Trino grammar', () => {
    const { sql } = renderServiceRequest(fixture.registry, 'by_key', 'fstore_dev');
    expect(sql).toContain('IN (SELECT TRY_CAST("store_id" AS BIGINT) FROM "fstore_request")');
    expect(trinoSyntaxProblems(sql)).toEqual([]);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { formatMicros, sqlTimestampText } from '../../lib/epoch-micros.ts';
import { renderTrainingSetUnload } from '../../lib/offline/athena-training-set.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { readManifest } from '../../lib/offline/ingest-manifest.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import { committedSeqs, type SeqPins } from '../../lib/offline/seq-pins.ts';
import { millisecondRange, renderServiceRequest } from '../../lib/sql/athena-service-query.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { createEntityRequestTable } from '../helpers/entity-request-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { assertTrinoGrammar } from '../helpers/trino-grammar.ts';

// Two ingests of the same customers: the second holds newer rows that win when unpinned.
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const lastOrder = defineFeatureView({
  name: 'last_order',
  entities: [customer],
  source: orders,
  features: { amount: 'int64' },
  ttl: '30d',
});
const orderSums = defineAggregationView({
  name: 'order_sums',
  entities: [customer],
  source: orders,
  aggregations: { amount: { functions: ['sum', 'count'], windows: ['10d'] } },
});
const pinnedService = defineFeatureService({
  name: 'pinned_svc',
  features: [lastOrder, orderSums],
  description: 'For this test.',
  owner: 'test@example.com',
});

const day = 86_400_000_000;
const base = Date.UTC(2026, 0, 1) * 1000;
const at = (days: number) => formatMicros(BigInt(base + days * day));

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;
let fixture: Fixture;
let firstIngestPins: SeqPins;

beforeAll(async () => {
  fixture = await offlineFixture([lastOrder, orderSums, pinnedService]);
  await fixture.ingest('orders', [
    { customer_id: 'C1', amount: 10, event_ts: at(1) },
    { customer_id: 'C2', amount: 20, event_ts: at(2) },
    { customer_id: 'C1', amount: 11, event_ts: at(3) },
  ]);
  const records = (await readManifest(offlineRoot(fixture.dataDir, 'local'))) ?? [];
  firstIngestPins = new Map(
    [...committedSeqs(records, ['orders'])].map(([source, seq]) => [source, seq.maxSeq]),
  );
  // Newer rows, inside every request row's window: they win unless the read is pinned.
  await fixture.ingest('orders', [
    { customer_id: 'C1', amount: 99, event_ts: at(4) },
    { customer_id: 'C2', amount: 98, event_ts: at(4) },
  ]);
});

const request = [
  { row_key: 'r1', customer_id: 'C1', event_timestamp: at(5) },
  { row_key: 'r2', customer_id: 'C2', event_timestamp: at(5) },
  { row_key: 'r3', customer_id: 'C3', event_timestamp: at(5) },
];

/** The service statement run on DuckDB for `request`, bound as EXECUTE binds it. */
async function execute(pins?: SeqPins) {
  const session = await openDuckdb();
  try {
    const { connection } = session;
    await connection.run('CREATE SCHEMA fstore_dev');
    await createEntityRequestTable(connection, {
      registry: fixture.registry,
      service: 'pinned_svc',
      database: 'fstore_dev',
      rows: request.map(
        (r) =>
          `('q', '${r.row_key}', '${r.customer_id}', TIMESTAMP '${sqlTimestampText(BigInt(base + 5 * day))}')`,
      ),
    });
    const statement = renderServiceRequest(
      fixture.registry,
      'pinned_svc',
      'fstore_dev',
      duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
      pins ? { pins } : {},
    );
    const range = millisecondRange({ min: at(5), max: at(5) });
    const bound = { request_id: 'q', min: range.min, max: range.max };
    const prepared = await connection.prepare(statement.sql);
    statement.parameters.forEach((name, i) => {
      prepared.bindVarchar(i + 1, bound[name].replace('T', ' ').replace('Z', ''));
    });
    const rows = (await prepared.runAndReadAll()).getRowObjectsJson() as Record<string, unknown>[];
    return rows.sort((a, b) => String(a.row_key).localeCompare(String(b.row_key)));
  } finally {
    session.close();
  }
}

const byRowKey = (rows: readonly Record<string, unknown>[]) =>
  Object.fromEntries(rows.map((r) => [r.row_key, r]));

describe('a pinned Athena service statement reads the sources as of their pins', () => {
  it('returns the winners and sums of the first ingest only, not the newer rows', async () => {
    const pinned = byRowKey(await execute(firstIngestPins));
    const latest = byRowKey(await execute());
    expect(latest.r1).toMatchObject({ amount: '99' });
    expect(pinned.r1).toMatchObject({
      amount: '11',
      amount_sum_10d: '21',
      amount_count_10d: '2',
    });
    expect(pinned.r2).toMatchObject({ amount: '20', amount_sum_10d: '20' });
    expect(pinned.r3).toMatchObject({ amount: null });
  });

  it('returns what the local engine returns for the same pins', async () => {
    const pinned = await execute(firstIngestPins);
    const local = await fixture.trainingSet(request, {
      request: { service: 'pinned_svc' },
      strategy: 'merge-window',
      pins: firstIngestPins,
    });
    const normalize = (r: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(r)
          .filter(([k]) => k !== 'event_timestamp')
          .map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v]),
      );
    expect(pinned.map(normalize)).toEqual(
      (local.records ?? [])
        .map(normalize)
        .sort((a, b) => String(a.row_key).localeCompare(String(b.row_key))),
    );
  });

  it('puts the pin inside the source relation, before the winner, and parses as Trino SQL', () => {
    const pin = firstIngestPins.get('orders');
    const sql = renderTrainingSetUnload({
      registry: fixture.registry,
      service: 'pinned_svc',
      database: 'fstore_dev',
      requestId: 'q1',
      entityTimeRange: { min: at(5), max: at(5) },
      location: 's3://bucket/training-sets/pinned_svc/q1/',
      pins: firstIngestPins,
    });
    expect(sql).toContain(`WHERE "fstore_seq" <= ${pin})`);
    // Inside the pruned scan of the committed relation, not on the joined result.
    expect(sql.indexOf(`"fstore_seq" <= ${pin}`)).toBeLessThan(sql.indexOf('fstore_s."dt"'));
    assertTrinoGrammar({ name: 'pinned UNLOAD', sql });
  });

  it('refuses pins that leave out a source the service reads', () => {
    expect(() =>
      renderServiceRequest(fixture.registry, 'pinned_svc', 'fstore_dev', undefined, {
        pins: new Map([['clicks', 3n]]),
      }),
    ).toThrow(/source "orders".*not pinned/);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { formatMicros, sqlTimestampText } from '../../lib/epoch-micros.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import {
  entityRequestColumns,
  millisecondRange,
  renderServiceRequest,
} from '../../lib/sql/athena-service-query.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { createEntityRequestTable } from '../helpers/entity-request-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

// Differential data over 20 days, so the dt bounds leave partitions out, read by views with a
// TTL, without one, with a window, and by two entities (one of two keys) on one source.
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const shelf = defineEntity({
  name: 'shelf',
  joinKeys: [
    { name: 'store_id', type: 'int64' },
    { name: 'aisle', type: 'string' },
  ],
});
const events = defineSource({
  name: 'events',
  schema: {
    customer_id: 'string',
    store_id: 'int64',
    aisle: 'string',
    value: 'int64',
    label: 'string',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
});
const plain = defineSource({
  name: 'plain',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const recent = defineFeatureView({
  name: 'recent',
  entities: [customer],
  source: events,
  features: { value: 'int64' },
  ttl: '2d',
});
const shelfLabel = defineFeatureView({
  name: 'shelf_label',
  entities: [shelf],
  source: events,
  features: { label: 'string' },
  ttl: '1d',
});
const amounts = defineFeatureView({
  name: 'amounts',
  entities: [customer],
  source: plain,
  features: { amount: 'float64' },
});
const valueWindows = defineAggregationView({
  name: 'value_windows',
  entities: [customer],
  source: events,
  aggregations: { value: { functions: ['sum', 'count'], windows: ['3d'] } },
});
const mixed = defineFeatureService({
  name: 'mixed',
  features: [recent, shelfLabel, amounts, valueWindows],
  description: 'Every kind of view, for this test.',
  owner: 'test@example.com',
});

const day = 86_400_000_000;
const base = Date.UTC(2026, 0, 1) * 1000;
const customers = Array.from({ length: 15 }, (_, i) => `C${i}`);
const shelves = [
  [1, 'a'],
  [1, 'b'],
  [2, 'a'],
  [3, 'c'],
] as const;

type Fixture = Awaited<ReturnType<typeof offlineFixture>>;
let fixture: Fixture;

beforeAll(async () => {
  fixture = await offlineFixture([recent, shelfLabel, amounts, valueWindows, mixed]);
  const rng = new Prng(16);
  const time = () => base + rng.int(0, 20 * 24 * 60) * 60_000_000 + rng.pick([0, 1, 999_999]);
  for (let batch = 0; batch < 2; batch++) {
    await fixture.ingest(
      'events',
      Array.from({ length: 300 }, () => {
        const at = time();
        const [store, aisle] = rng.pick(shelves);
        return {
          customer_id: rng.pick(customers),
          store_id: store,
          aisle,
          value: rng.chance(0.1) ? null : rng.int(-50, 50),
          label: rng.chance(0.1) ? null : rng.pick(['x', 'y', 'z']),
          event_ts: formatMicros(BigInt(at)),
          created_ts: formatMicros(BigInt(at + rng.int(0, 2) * 60_000_000)),
        };
      }),
    );
    await fixture.ingest(
      'plain',
      Array.from({ length: 100 }, () => ({
        customer_id: rng.pick(customers),
        amount: rng.int(0, 10_000) / 100,
        event_ts: formatMicros(BigInt(time())),
      })),
    );
  }
});

interface RequestRow {
  row_key: string;
  customer_id: string;
  store_id: number;
  aisle: string;
  event_timestamp: number;
}

/** A request of `size` rows over a few keys, at times inside [from, from + span] days. */
function randomRequest(seed: number, size: number, from: number, span: number): RequestRow[] {
  const rng = new Prng(seed);
  const someCustomers = customers.filter(() => rng.chance(0.3)).concat('UNKNOWN');
  return Array.from({ length: size }, (_, i) => {
    const [store, aisle] = rng.pick(shelves);
    return {
      row_key: `r${i}`,
      customer_id: rng.pick(someCustomers),
      store_id: store,
      aisle,
      event_timestamp: base + from * day + rng.int(0, span * day),
    };
  });
}

/** The service statement run on DuckDB for `rows`, bound as EXECUTE binds it. */
async function execute(rows: readonly RequestRow[], prune: boolean) {
  const session = await openDuckdb();
  try {
    const { connection } = session;
    const names = entityRequestColumns(fixture.registry, 'mixed').map((c) => c.name);
    expect(names).toEqual(['row_key', 'customer_id', 'store_id', 'aisle', 'event_timestamp']);
    await connection.run('CREATE SCHEMA fstore_dev');
    await createEntityRequestTable(connection, {
      registry: fixture.registry,
      service: 'mixed',
      database: 'fstore_dev',
      rows: rows.map(
        (r) =>
          `('q', '${r.row_key}', '${r.customer_id}', ${r.store_id}, '${r.aisle}', TIMESTAMP '${sqlTimestampText(BigInt(r.event_timestamp))}')`,
      ),
    });
    const statement = renderServiceRequest(
      fixture.registry,
      'mixed',
      'fstore_dev',
      duckdbDialect(offlineRoot(fixture.dataDir, 'local')),
      { prune },
    );
    const times = rows.map((r) => r.event_timestamp);
    const range = millisecondRange({
      min: formatMicros(BigInt(Math.min(...times))),
      max: formatMicros(BigInt(Math.max(...times))),
    });
    const bound = { request_id: 'q', min: range.min, max: range.max };
    const prepared = await connection.prepare(statement.sql);
    statement.parameters.forEach((name, i) => {
      prepared.bindVarchar(i + 1, bound[name].replace('T', ' ').replace('Z', ''));
    });
    return {
      sql: statement.sql,
      rows: (await prepared.runAndReadAll()).getRowObjectsJson() as Record<string, unknown>[],
    };
  } finally {
    session.close();
  }
}

describe('the Athena service statement prunes by partition and key without changing its answer', () => {
  it.each([
    [1, 5, 4, 1],
    [2, 40, 10, 3],
    [3, 200, 0, 20],
    [4, 1, 19, 0],
  ])(
    'gives the same rows with and without pruning, on DuckDB (seed %i: %i rows from day %i over %i days)',
    async (seed, size, from, span) => {
      const request = randomRequest(seed, size, from, span);
      const pruned = await execute(request, true);
      const unpruned = await execute(request, false);
      expect(pruned.rows).toHaveLength(request.length);
      expect(pruned.rows).toEqual(unpruned.rows);
      // Not two empty answers: features were found for some rows.
      if (size >= 40)
        expect(pruned.rows.some((r) => r.value !== null && r.label !== null)).toBe(true);
      // The pruned statement is the one with the bounds and the key filter.
      expect(pruned.sql).toContain('fstore_s."dt" >=');
      expect(pruned.sql).toContain(
        '((fstore_s."customer_id" IN (SELECT "customer_id" FROM "fstore_request")) OR (fstore_s."store_id" IN (SELECT "store_id" FROM "fstore_request") AND fstore_s."aisle" IN (SELECT "aisle" FROM "fstore_request")))',
      );
      expect(unpruned.sql).not.toContain('fstore_s."dt"');
      expect(unpruned.sql).not.toContain('FROM "fstore_request")');
    },
  );

  it('returns what the local engine returns for the same entity rows', async () => {
    const request = randomRequest(5, 60, 3, 12);
    const { rows } = await execute(request, true);
    const local = await fixture.trainingSet(
      request.map((r) => ({ ...r, event_timestamp: formatMicros(BigInt(r.event_timestamp)) })),
      { request: { service: 'mixed' }, strategy: 'merge-window' },
    );
    const normalize = (r: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(r)
          .filter(([k]) => k !== 'event_timestamp')
          .map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v]),
      );
    const byRowKey = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      String(a.row_key).localeCompare(String(b.row_key));
    const expected = (local.records ?? []).map(normalize).sort(byRowKey);
    expect(rows.map(normalize).sort(byRowKey)).toEqual(expected);
    expect(expected.filter((r) => r.amount !== null).length).toBeGreaterThan(10);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAggregationView, defineEntity, defineSource } from '../../lib/definitions/index.ts';
import { epochMicrosOf, formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { materializeLocal } from '../../lib/local/materialize-local.ts';
import { lookupFeatures } from '../../lib/online/online-lookup.ts';
import { ensureLocalTable, localDynamoClient } from '../../lib/online/online-table.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const account = defineEntity({
  name: 'account',
  joinKeys: [{ name: 'account_id', type: 'int64' }],
});
const orders = defineSource({
  name: 'orders',
  schema: {
    account_id: 'int64',
    qty: 'int64',
    ratio: 'float32',
    seen_at: 'timestamp',
    tags: 'list<string>',
    event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
const view = defineAggregationView({
  name: 'order_tiles',
  entities: [account],
  source: orders,
  aggregations: {
    qty: { functions: ['count', 'sum', 'min', 'max', 'last'], windows: ['1h', '1d'] },
    ratio: { functions: ['sum', 'avg', 'max'], windows: ['1d'] },
    seen_at: { functions: ['min', 'max', 'last'], windows: ['1d'] },
    tags: { functions: ['count', 'days_since_last'], windows: ['1d'] },
  },
  online: true,
  onlineTiles: true,
  schedule: 'rate(1 hour)',
});

const minute = 60_000_000n;
const t0 = epochMicrosOf('2026-03-01T00:00:00Z');
const accounts = [7, -3, 42];
let dynamo: LocalDynamo;

const same = (got: unknown, want: unknown) => {
  if (typeof got === 'number' && typeof want === 'number') return Object.is(got, want);
  if (typeof want === 'bigint' || typeof got === 'bigint')
    return BigInt(got as bigint) === BigInt(want as bigint);
  if (typeof got === 'string' && typeof want === 'string' && !Number.isNaN(Date.parse(want)))
    return epochMicrosOf(got) === epochMicrosOf(want);
  return got === (want ?? null);
};

describe('scheduled materialization writes the tiles of an int64-keyed view over int64, float32, timestamp and list columns (issue 20)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('answers lookups as the training set, an int64 beyond 2^53 and float32 sums included', async () => {
    const fixture = await offlineFixture([view]);
    const row = (account_id: number, minutesBefore: bigint, extra: Record<string, unknown>) => ({
      account_id,
      event_ts: formatMicros(t0 - minutesBefore * minute),
      ...extra,
    });
    await fixture.ingest('orders', [
      row(7, 300n, { qty: 5, ratio: 0.1, seen_at: '2026-02-27T10:00:00Z', tags: ['a'] }),
      row(7, 30n, { qty: '1152921504606846977', ratio: 0.7, seen_at: null, tags: null }),
      row(7, 10n, { qty: -2, ratio: null, seen_at: '2026-02-28T23:00:00.000001Z', tags: [] }),
      row(-3, 20n, { qty: 3, ratio: 1.3, seen_at: '2026-02-20T00:00:00Z', tags: ['x', 'y'] }),
      row(-3, 40n, { qty: '-1152921504606846977', ratio: -0.3, seen_at: null, tags: ['w'] }),
      row(-3, 2000n, { qty: 9, ratio: 2.5, seen_at: '2026-02-21T00:00:00Z', tags: ['z'] }),
      row(42, 5n, { qty: null, ratio: 0.2, seen_at: null, tags: null }),
    ]);
    const client = localDynamoClient(dynamo.endpoint);
    const table = 'fstore-tiles-column-types';
    await ensureLocalTable(client, table);
    const [run] = await materializeLocal({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'local',
      client,
      table,
      views: ['order_tiles'],
      now: () => Number(t0 / 1000n),
    });
    expect(run?.status).toBe('succeeded');
    const features = (fixture.registry.featureViews[0]?.aggregations ?? []).map((a) => a.feature);
    const lookups: { at: bigint; account: number; values: Record<string, unknown> }[] = [];
    for (const at of [t0 + 1000n, t0 + 25n * minute, t0 + 295n * minute]) {
      const results = await lookupFeatures(
        client,
        table,
        fixture.registry,
        {
          views: [
            {
              view: 'order_tiles',
              features: features.map((f) => ({ feature: f, outputName: f })),
            },
          ],
          entities: accounts.map((account_id) => ({ account_id })),
        },
        { now: () => Number(at / 1000n) },
      );
      lookups.push(
        ...results.map((result, i) => ({
          at,
          account: accounts[i] as number,
          values: Object.fromEntries(features.map((f) => [f, result[f]?.value ?? null])),
        })),
      );
    }
    const offline = await fixture.trainingSet(
      lookups.map((o) => ({ account_id: o.account, event_timestamp: formatMicros(o.at) })),
      { request: { features: features.map((f) => `order_tiles:${f}`) } },
    );
    const found: string[] = [];
    lookups.forEach((o, i) => {
      for (const f of features) {
        const want = offline.records?.[i]?.[f] ?? null;
        const got = o.values[f] ?? null;
        if (!same(got, want))
          found.push(
            `${o.account} ${f} at ${formatMicros(o.at)}: ${String(got)} vs ${String(want)}`,
          );
      }
    });
    expect(found).toEqual([]);
    // The rows reached the tiles: not a comparison of two empty answers.
    expect(lookups[0]?.values.qty_sum_1d).toBe('1152921504606846980');
  }, 120_000);
});

import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { partitionedFile } from '../../../lib/offline/dt-partition.ts';
import {
  type KeyedWindow,
  keyedSourceRelation,
  sharedJoinKeys,
} from '../../../lib/offline/keyed-scans.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';

// Which join keys keyed scans filter on when several views read one source, and how a
// composite key's filter is written. keyed-scans.test.ts covers the one-key case.
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const customerInRegion = defineEntity({
  name: 'customer_in_region',
  joinKeys: [
    { name: 'customer_id', type: 'string' },
    { name: 'region', type: 'string' },
  ],
});
const region = defineEntity({ name: 'region', joinKeys: [{ name: 'region', type: 'string' }] });
const visitor = defineEntity({
  name: 'visitor',
  joinKeys: [{ name: 'visitor_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', region: 'string', amount: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const visits = defineSource({
  name: 'visits',
  schema: { visitor_id: 'string', pages: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const views = [
  defineFeatureView({
    name: 'by_customer',
    entities: [customer],
    source: orders,
    features: { amount: 'int64' },
    ttl: '1d',
  }),
  defineFeatureView({
    name: 'by_customer_region',
    entities: [customerInRegion],
    source: orders,
    features: { amount: 'int64' },
    ttl: '1d',
  }),
  defineFeatureView({
    name: 'by_region',
    entities: [region],
    source: orders,
    features: { amount: 'int64' },
    ttl: '1d',
  }),
  defineFeatureView({
    name: 'visitor_pages',
    entities: [visitor],
    source: visits,
    features: { pages: 'int64' },
    ttl: '1d',
  }),
];
const registry = compileRegistry(views.map((definition) => ({ definition })));
const planOf = (...features: string[]) =>
  planPointInTime(
    registry,
    { features },
    { entityTimestampColumn: 'event_timestamp', fullFeatureNames: true },
  );

// 2026-03-01 is day 20513 since 1970-01-01.
const day0 = Date.UTC(2026, 2, 1) / 86_400_000;
const file = (offset: number) =>
  partitionedFile(
    `/store/orders/dt=${new Date((day0 + offset) * 86_400_000).toISOString().slice(0, 10)}/a-0.parquet`,
  );
const window = (from: number, to: number, keys: Record<string, string>): KeyedWindow => ({
  from: day0 + from,
  to: day0 + to,
  keys: new Map(Object.entries(keys).map(([k, v]) => [k, `'${v}'`])),
  values: new Map(Object.entries(keys)),
  earliestMicros: BigInt((day0 + to) * 86_400_000_000),
});
/** The WHERE of each scan of the relation, in order. */
const filters = (relation: string | undefined) =>
  [...(relation ?? '').matchAll(/\) WHERE (.*?)(?=\)$| UNION ALL BY NAME )/g)].map((m) => m[1]);

describe('the join keys keyed scans filter on', () => {
  it('are the keys every view on the source has, whatever the views on other sources use', () => {
    const plan = planOf('by_customer_region:amount', 'visitor_pages:pages', 'by_customer:amount');
    expect(sharedJoinKeys(plan, 'orders')).toEqual(['customer_id']);
    expect(sharedJoinKeys(plan, 'visits')).toEqual(['visitor_id']);
    const relation = keyedSourceRelation(
      plan,
      'orders',
      [window(0, 0, { customer_id: 'C1', region: 'eu' })],
      [file(0)],
    );
    expect(filters(relation)).toEqual([`"customer_id" IN ('C1')`]);
  });

  it('are none for a source no view of the plan reads', () => {
    expect(sharedJoinKeys(planOf('by_customer:amount'), 'visits')).toEqual([]);
  });

  it('are none when the views on the source have no key in common, so no keyed scans are made', () => {
    const plan = planOf('by_customer:amount', 'by_region:amount');
    expect(sharedJoinKeys(plan, 'orders')).toEqual([]);
    const windows = [window(0, 0, { customer_id: 'C1', region: 'eu' })];
    expect(keyedSourceRelation(plan, 'orders', windows, [file(0)])).toBeUndefined();
  });

  it('make no relation for a source without files', () => {
    const plan = planOf('by_customer:amount');
    expect(
      keyedSourceRelation(plan, 'orders', [window(0, 0, { customer_id: 'C1' })], []),
    ).toBeUndefined();
  });
});

describe('keyed scans on a composite key', () => {
  const plan = planOf('by_customer_region:amount');

  it('ask for every key of the rows reaching the file, each key in sorted order', () => {
    const relation = keyedSourceRelation(
      plan,
      'orders',
      [
        window(0, 1, { customer_id: 'C2', region: 'us' }),
        window(1, 2, { customer_id: 'C1', region: 'eu' }),
        window(2, 3, { customer_id: 'C2', region: 'us' }),
      ],
      [0, 1, 2, 3].map(file),
    );
    // Days 1 and 2 are reached by the same two rows, listed in another order: one scan.
    expect(filters(relation)).toEqual([
      `"customer_id" IN ('C2') AND "region" IN ('us')`,
      `"customer_id" IN ('C1', 'C2') AND "region" IN ('eu', 'us')`,
    ]);
    expect(relation).toMatch(/dt=2026-03-02[^\]]*dt=2026-03-03[^\]]*\]/);
  });

  it('give a file reached only by rows with a NULL key part the one filter FALSE', () => {
    const relation = keyedSourceRelation(
      plan,
      'orders',
      [window(0, 0, { customer_id: 'C1' }), window(1, 1, { customer_id: 'C1', region: 'eu' })],
      [0, 1, 5].map(file),
    );
    // Day 0 (a NULL region) and day 5 (no row) can match nothing: one scan, not two.
    expect(filters(relation)).toEqual(['FALSE', `"customer_id" IN ('C1') AND "region" IN ('eu')`]);
  });
});

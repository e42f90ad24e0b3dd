import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { partitionedFile } from '../../../lib/offline/dt-partition.ts';
import {
  type KeyedWindow,
  keyedSourceRelation,
  MAX_KEYED_SCANS,
} from '../../../lib/offline/keyed-scans.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { planPointInTime } from '../../../lib/sql/point-in-time-plan.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const view = defineFeatureView({
  name: 'recent',
  entities: [customer],
  source: defineSource({
    name: 'scores',
    schema: { customer_id: 'string', score: 'int64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  }),
  features: { score: 'int64' },
  ttl: '1d',
});
const plan = planPointInTime(
  compileRegistry([{ definition: view }]),
  { features: ['recent:score'] },
  { entityTimestampColumn: 'event_timestamp' },
);
// 2026-03-01 is day 20513 since 1970-01-01.
const day0 = Date.UTC(2026, 2, 1) / 86_400_000;
const file = (offset: number) =>
  partitionedFile(
    `/store/scores/dt=${new Date((day0 + offset) * 86_400_000).toISOString().slice(0, 10)}/a-0.parquet`,
  );
const window = (from: number, to: number, key?: string): KeyedWindow => ({
  from: day0 + from,
  to: day0 + to,
  keys: new Map(key === undefined ? [] : [['customer_id', `'${key}'`]]),
  values: new Map(key === undefined ? [] : [['customer_id', key]]),
  earliestMicros: BigInt((day0 + to) * 86_400_000_000),
});

/** Each scan of the relation: its files' days (offsets from day0) and its filter. */
function scans(relation: string | undefined) {
  return [
    ...(relation ?? '').matchAll(
      /read_parquet\(\[([^\]]*)\][^)]*\) WHERE ([^\n]*?)(?=\)?$| UNION ALL BY NAME )/g,
    ),
  ].map((m) => ({
    days: [...(m[1] ?? '').matchAll(/dt=(\d{4}-\d{2}-\d{2})/g)].map(
      (d) => Date.parse(`${d[1]}T00:00:00Z`) / 86_400_000 - day0,
    ),
    filter: m[2],
  }));
}

describe('keyed scans of a source', () => {
  it('asks each day file for the keys of the rows whose windows reach it, one scan per key set', () => {
    const relation = keyedSourceRelation(
      plan,
      'scores',
      [window(0, 1, 'A'), window(1, 2, 'B'), window(5, 6, 'A')],
      [0, 1, 2, 3, 5, 6].map(file),
    );
    expect(scans(relation)).toEqual([
      { days: [0, 5, 6], filter: `"customer_id" IN ('A')` },
      { days: [1], filter: `"customer_id" IN ('A', 'B')` },
      { days: [2], filter: `"customer_id" IN ('B')` },
      { days: [3], filter: 'FALSE' },
    ]);
  });

  it('asks a file outside any dt partition for every key, and rows with an empty key for none', () => {
    const relation = keyedSourceRelation(
      plan,
      'scores',
      [window(0, 0, 'A'), window(4, 4), window(9, 9, 'C')],
      [partitionedFile('/store/scores/loose.parquet'), file(4)],
    );
    expect(scans(relation)).toEqual([
      { days: [], filter: `"customer_id" IN ('A', 'C')` },
      { days: [4], filter: 'FALSE' },
    ]);
  });

  it('lets a window without lower bound (no TTL) reach every day up to its end', () => {
    const unbounded: KeyedWindow = {
      to: day0 + 2,
      keys: new Map([['customer_id', "'N'"]]),
      values: new Map([['customer_id', 'N']]),
      earliestMicros: BigInt((day0 + 2) * 86_400_000_000),
    };
    const relation = keyedSourceRelation(plan, 'scores', [unbounded], [-30, 2, 3].map(file));
    expect(scans(relation)).toEqual([
      { days: [-30, 2], filter: `"customer_id" IN ('N')` },
      { days: [3], filter: 'FALSE' },
    ]);
  });

  it(`gives up above ${MAX_KEYED_SCANS} key sets, so the one key list is used`, () => {
    const days = Array.from({ length: MAX_KEYED_SCANS + 1 }, (_, i) => i);
    const windows = days.map((d) => window(d, d, `K${d}`));
    expect(keyedSourceRelation(plan, 'scores', windows, days.map(file))).toBeUndefined();
    expect(
      keyedSourceRelation(plan, 'scores', windows.slice(1), days.slice(1).map(file)),
    ).toContain('UNION ALL BY NAME');
  });
});

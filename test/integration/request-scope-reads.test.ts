import type { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  defineAggregationView,
  defineEntity,
  defineFeatureView,
  defineSource,
} from '../../lib/definitions/index.ts';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { narrowToLatestRowDays } from '../../lib/offline/latest-row-days.ts';
import { offlineRoot } from '../../lib/offline/local-layout.ts';
import {
  KEY_LIST_MAX_ROWS,
  requestScope,
  scopedDuckdbDialect,
} from '../../lib/offline/request-scope.ts';
import { duckdbDialect } from '../../lib/sql/duckdb-dialect.ts';
import { planPointInTime, requiredJoinKeys } from '../../lib/sql/point-in-time-plan.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

// Counts reads of the ingest manifest (`_ingests.jsonl`) through node:fs.
const manifestReads = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((...args: Parameters<typeof fs.readFileSync>) => {
    if (String(args[0]).endsWith('_ingests.jsonl')) manifestReads.count++;
    return fs.readFileSync(...args);
  }) as typeof fs.readFileSync;
  return { ...fs, default: { ...fs, readFileSync }, readFileSync };
});

// Two sources: `events` read by a 1-day-TTL view and a 3-day window (lookback 3 days), and
// `profiles` read by a view without TTL (no lower bound); two join keys.
const shop = defineEntity({
  name: 'shop',
  joinKeys: [
    { name: 'shop_id', type: 'int64' },
    { name: 'region', type: 'string' },
  ],
});
const events = defineSource({
  name: 'events',
  schema: { shop_id: 'int64', region: 'string', value: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const latest = defineFeatureView({
  name: 'latest',
  entities: [shop],
  source: events,
  features: { value: 'int64' },
  ttl: '1d',
});
const windows = defineAggregationView({
  name: 'windows',
  entities: [shop],
  source: events,
  aggregations: { value: { functions: ['sum'], windows: ['3d'] } },
});
const profile = defineFeatureView({
  name: 'profile',
  entities: [shop],
  source: defineSource({
    name: 'profiles',
    schema: { shop_id: 'int64', region: 'string', tier: 'string', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  }),
  features: { tier: 'string' },
});
const definitions = [latest, windows, profile];
const features = ['latest:value', 'windows:value_sum_3d', 'profile:tier'];

/** A connection whose statements are recorded; every other call goes to the real one. */
function recording(connection: DuckDBConnection, statements: string[]): DuckDBConnection {
  return new Proxy(connection, {
    get(target, name) {
      const member = Reflect.get(target, name, target);
      if (typeof member !== 'function') return member;
      return (sql: string, ...rest: unknown[]) => {
        if (typeof sql === 'string') statements.push(sql);
        return member.call(target, sql, ...rest);
      };
    },
  });
}

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
const literal = (value: string, type: string) => `CAST('${value}' AS ${type})`;

let session: DuckdbSession;
beforeEach(async () => {
  session = await openDuckdb();
  manifestReads.count = 0;
});
afterEach(() => session.close());

async function entityTable(rows: readonly string[]) {
  await session.connection.run(
    'CREATE TEMP TABLE entities (shop_id BIGINT, region VARCHAR, event_timestamp TIMESTAMP)',
  );
  await session.connection.run(`INSERT INTO entities VALUES ${rows.join(', ')}`);
}

describe('the request scope reads the entity rows once', () => {
  it('gives every source its days, the key values and each row’s keyed window from one query', async () => {
    const fixture = await offlineFixture(definitions);
    const plan = planPointInTime(
      fixture.registry,
      { features },
      { entityTimestampColumn: 'event_timestamp' },
    );
    await entityTable([
      // Midnight exactly: 3 days back is midnight three days earlier.
      "(1, 'north', TIMESTAMP '2026-03-10 00:00:00')",
      "(1, 'north', TIMESTAMP '2026-03-10 00:00:00')",
      // Same key, day and lookback days, later: the same window, whose earliest time stays midnight.
      "(1, 'north', TIMESTAMP '2026-03-10 08:00:00')",
      // One microsecond before midnight: still the day before.
      "(2, 'south', TIMESTAMP '2026-03-20 23:59:59.999999')",
      // A NULL key reaches its days but asks for no value of that key.
      "(NULL, 'north', TIMESTAMP '2026-03-21 12:00:00')",
      // Before 1970: days count back from 1970-01-01.
      "(3, 'east', TIMESTAMP '1969-12-31 06:00:00')",
    ]);
    const statements: string[] = [];
    const scope = await requestScope(
      recording(session.connection, statements),
      'entities',
      plan,
      6,
      requiredJoinKeys(plan),
    );
    expect(statements.filter((s) => s.includes('entities'))).toHaveLength(1);
    expect(scope.sourceDays.get('events')).toEqual([
      { from: day('1969-12-28'), to: day('1969-12-31') },
      { from: day('2026-03-07'), to: day('2026-03-10') },
      { from: day('2026-03-17'), to: day('2026-03-21') },
    ]);
    expect(scope.sourceDays.get('profiles')).toEqual([{ to: day('2026-03-21') }]);
    expect(scope.keyValues).toEqual(
      new Map([
        ['shop_id', ['1', '2', '3'].map((v) => literal(v, 'BIGINT'))],
        ['region', ['east', 'north', 'south'].map((v) => literal(v, 'VARCHAR'))],
      ]),
    );
    const keys = (shopId: string | undefined, region: string) =>
      new Map([
        ...(shopId === undefined ? [] : [['shop_id', literal(shopId, 'BIGINT')] as const]),
        ['region', literal(region, 'VARCHAR')] as const,
      ]);
    const values = (shopId: string | undefined, region: string) =>
      new Map([
        ...(shopId === undefined ? [] : [['shop_id', shopId] as const]),
        ['region', region],
      ]);
    const micros = (iso: string) => Date.parse(`${iso}Z`) * 1000;
    const rowsOf = [
      {
        keys: keys('3', 'east'),
        values: values('3', 'east'),
        earliestMicros: BigInt(micros('1969-12-31T06:00:00')),
      },
      {
        keys: keys('1', 'north'),
        values: values('1', 'north'),
        earliestMicros: BigInt(micros('2026-03-10T00:00:00')),
      },
      {
        keys: keys('2', 'south'),
        values: values('2', 'south'),
        earliestMicros: BigInt(micros('2026-03-20T23:59:59.999') + 999),
      },
      {
        keys: keys(undefined, 'north'),
        values: values(undefined, 'north'),
        earliestMicros: BigInt(micros('2026-03-21T12:00:00')),
      },
    ] as const;
    const byEnd = (a: { to: number }, b: { to: number }) => a.to - b.to;
    expect([...(scope.keyedWindows?.get('events') ?? [])].sort(byEnd)).toEqual([
      { from: day('1969-12-28'), to: day('1969-12-31'), ...rowsOf[0] },
      { from: day('2026-03-07'), to: day('2026-03-10'), ...rowsOf[1] },
      { from: day('2026-03-17'), to: day('2026-03-20'), ...rowsOf[2] },
      { from: day('2026-03-18'), to: day('2026-03-21'), ...rowsOf[3] },
    ]);
    expect([...(scope.keyedWindows?.get('profiles') ?? [])].sort(byEnd)).toEqual([
      { to: day('1969-12-31'), ...rowsOf[0] },
      { to: day('2026-03-10'), ...rowsOf[1] },
      { to: day('2026-03-20'), ...rowsOf[2] },
      { to: day('2026-03-21'), ...rowsOf[3] },
    ]);
  });

  it(`reads it once above ${KEY_LIST_MAX_ROWS} rows too, for the days alone`, async () => {
    const fixture = await offlineFixture(definitions);
    const plan = planPointInTime(
      fixture.registry,
      { features },
      { entityTimestampColumn: 'event_timestamp' },
    );
    await entityTable(["(1, 'north', TIMESTAMP '2026-03-10 08:00:00')"]);
    const statements: string[] = [];
    const scope = await requestScope(
      recording(session.connection, statements),
      'entities',
      plan,
      KEY_LIST_MAX_ROWS + 1,
      requiredJoinKeys(plan),
    );
    expect(statements.filter((s) => s.includes('entities'))).toHaveLength(1);
    expect(scope.sourceDays.get('events')).toEqual([
      { from: day('2026-03-07'), to: day('2026-03-10') },
    ]);
    expect(scope.keyValues).toBeUndefined();
    expect(scope.keyedWindows).toBeUndefined();
  });
});

describe('the scoped source relations of one training set', () => {
  it('read the manifest once per source and stay the same for every view, even when an ingest commits between them', async () => {
    const fixture = await offlineFixture(definitions);
    const row = (shop_id: number, event_ts: string) => ({
      shop_id,
      region: 'north',
      value: shop_id,
      event_ts,
    });
    await fixture.ingest('events', [
      row(1, '2026-03-09T10:00:00Z'),
      row(2, '2026-03-10T10:00:00Z'),
    ]);
    const plan = planPointInTime(
      fixture.registry,
      { features },
      { entityTimestampColumn: 'event_timestamp' },
    );
    await entityTable(["(1, 'north', TIMESTAMP '2026-03-10 12:00:00')"]);
    const root = offlineRoot(fixture.dataDir, 'local');
    const scope = await requestScope(
      session.connection,
      'entities',
      plan,
      1,
      requiredJoinKeys(plan),
    );
    const dialect = scopedDuckdbDialect(duckdbDialect(root), root, plan, scope);
    manifestReads.count = 0;
    const first = dialect.sourceRelation('events');
    expect(dialect.sourceRelation('events')).toBe(first);
    expect(manifestReads.count).toBe(1);
    expect(first).toContain('dt=2026-03-10');

    await fixture.ingest('events', [row(1, '2026-03-10T11:00:00Z')]);
    expect(dialect.sourceRelation('events')).toBe(first);
    // A new training set sees the new ingest.
    const next = scopedDuckdbDialect(duckdbDialect(root), root, plan, scope);
    expect(next.sourceRelation('events')).not.toBe(first);
  });

  it('read the manifest once per source when latest-row days narrow the windows first, and render from that read', async () => {
    const fixture = await offlineFixture(definitions);
    await fixture.ingest('profiles', [
      { shop_id: 1, region: 'north', tier: 'gold', event_ts: '2026-03-08T10:00:00Z' },
    ]);
    const plan = planPointInTime(
      fixture.registry,
      { features: ['profile:tier'] },
      { entityTimestampColumn: 'event_timestamp' },
    );
    await entityTable(["(1, 'north', TIMESTAMP '2026-03-10 12:00:00')"]);
    const root = offlineRoot(fixture.dataDir, 'local');
    const scope = await requestScope(
      session.connection,
      'entities',
      plan,
      1,
      requiredJoinKeys(plan),
    );
    manifestReads.count = 0;
    const narrowed = await narrowToLatestRowDays(session.connection, root, plan, scope);
    expect(manifestReads.count).toBe(1);
    const dialect = scopedDuckdbDialect(duckdbDialect(root), root, plan, narrowed);
    await fixture.ingest('profiles', [
      { shop_id: 1, region: 'north', tier: 'silver', event_ts: '2026-03-09T10:00:00Z' },
    ]);
    manifestReads.count = 0;
    // The relation is the snapshot the narrowing read: the ingest since is not in it.
    expect(dialect.sourceRelation('profiles')).toContain('dt=2026-03-08');
    expect(dialect.sourceRelation('profiles')).not.toContain('dt=2026-03-09');
    expect(manifestReads.count).toBe(0);
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const profiles = defineSource({
  name: 'profiles',
  schema: {
    customer_id: 'string',
    score: 'int64',
    tier: 'string',
    event_ts: 'timestamp',
    created_ts: 'timestamp',
  },
  timestampField: 'event_ts',
  createdTimestampField: 'created_ts',
  fieldMapping: { cust: 'customer_id' },
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const hourly = defineFeatureView({
  name: 'hourly',
  entities: [customer],
  source: profiles,
  features: { score: 'int64', tier: 'string' },
  ttl: '1h',
});
const forever = defineFeatureView({
  name: 'forever',
  entities: [customer],
  source: profiles,
  features: { score: 'int64' },
});
const lastOrder = defineFeatureView({
  name: 'last_order',
  entities: [customer],
  source: orders,
  features: { amount: 'float64' },
  ttl: '1d',
});

const t = '2026-03-01T12:00:00.000000Z';
const at = (iso: string) => ({ customer_id: 'C1', event_timestamp: iso });
const profile = (
  event: string,
  score: number,
  created = event,
  extra: Record<string, unknown> = {},
) => ({ cust: 'C1', score, tier: 'gold', event_ts: event, created_ts: created, ...extra });

describe.each(['asof', 'merge-window'] as const)(
  'point-in-time training sets (DuckDB, %s strategy)',
  (strategy) => {
    async function scoresAt(
      rows: Record<string, unknown>[],
      entities: Record<string, unknown>[],
      features = ['hourly:score'],
    ) {
      const fixture = await offlineFixture([hourly, forever, lastOrder], strategy);
      await fixture.ingest('profiles', rows);
      const result = await fixture.trainingSet(entities, { request: { features } });
      return result.records?.map((r) => r.score ?? null);
    }

    it('includes a row exactly TTL before the entity time and excludes one a microsecond older', async () => {
      expect(await scoresAt([profile('2026-03-01T11:00:00.000000Z', 1)], [at(t)])).toEqual([1]);
      expect(await scoresAt([profile('2026-03-01T10:59:59.999999Z', 1)], [at(t)])).toEqual([null]);
    });

    it('includes a row at exactly the entity time and never a later one', async () => {
      expect(
        await scoresAt([profile(t, 7), profile('2026-03-01T12:00:00.000001Z', 8)], [at(t)]),
      ).toEqual([7]);
    });

    it('returns NULL features but still the row for an entity with no source rows', async () => {
      const fixture = await offlineFixture([hourly], strategy);
      await fixture.ingest('profiles', [profile(t, 1)]);
      const result = await fixture.trainingSet(
        [{ customer_id: 'C9', event_timestamp: t, label: 1 }],
        { request: { features: ['hourly:score'] } },
      );
      expect(result.records).toEqual([
        { customer_id: 'C9', event_timestamp: '2026-03-01 12:00:00', label: 1, score: null },
      ]);
      expect(result.matchRates).toEqual([{ view: 'hourly', matched: 0, rate: 0 }]);
    });

    it('breaks a tie on event time by the greater created time (10 vs 20)', async () => {
      const event = '2026-03-01T11:30:00Z';
      expect(
        await scoresAt(
          [profile(event, 20, '2026-03-01T11:30:20Z'), profile(event, 10, '2026-03-01T11:30:10Z')],
          [at(t)],
        ),
      ).toEqual([20]);
    });

    it('prefers the later event time over a later created time (30 vs 40)', async () => {
      expect(
        await scoresAt(
          [
            profile('2026-03-01T11:40:00Z', 40, '2026-03-01T11:40:00Z'),
            profile('2026-03-01T11:30:00Z', 30, '2026-03-01T11:50:00Z'),
          ],
          [at(t)],
        ),
      ).toEqual([40]);
    });

    it('breaks a full tie by the row ingested last', async () => {
      const fixture = await offlineFixture([hourly], strategy);
      await fixture.ingest('profiles', [profile('2026-03-01T11:30:00Z', 1)]);
      await fixture.ingest('profiles', [profile('2026-03-01T11:30:00Z', 2)]);
      const result = await fixture.trainingSet([at(t)], {
        request: { features: ['hourly:score'] },
      });
      expect(result.records?.[0]?.score).toBe(2);
    });

    it('without a created column, breaks a tie on event time by the row ingested last, at the entity time too', async () => {
      const fixture = await offlineFixture([hourly, lastOrder], strategy);
      const order = (amount: number, event_ts: string) => ({ customer_id: 'C1', amount, event_ts });
      await fixture.ingest('orders', [order(1, '2026-03-01T11:30:00Z'), order(2, t)]);
      await fixture.ingest('orders', [order(3, '2026-03-01T11:30:00Z'), order(4, t)]);
      await fixture.ingest('orders', [order(5, '2026-03-01T12:00:00.000001Z')]);
      await fixture.ingest('profiles', [profile('2026-03-01T11:30:00Z', 7)]);
      const result = await fixture.trainingSet([at('2026-03-01T11:45:00Z'), at(t)], {
        request: { features: ['last_order:amount', 'hourly:score'] },
      });
      expect(result.records?.map((r) => [r.amount, r.score])).toEqual([
        [3, 7],
        [4, 7],
      ]);
    });

    it('breaks ties in a view with a created column and in one without, in one request', async () => {
      const fixture = await offlineFixture([hourly, lastOrder], strategy);
      const order = (amount: number) => ({ customer_id: 'C1', amount, event_ts: t });
      await fixture.ingest('orders', [order(1)]);
      await fixture.ingest('orders', [order(2)]);
      await fixture.ingest('profiles', [profile(t, 5)]);
      await fixture.ingest('profiles', [profile(t, 6)]);
      const result = await fixture.trainingSet([at(t)], {
        request: { features: ['last_order:amount', 'hourly:score'] },
      });
      expect(result.records?.map((r) => [r.amount, r.score])).toEqual([[2, 6]]);
    });

    it('keeps a NULL of the winning row instead of filling it from an older row', async () => {
      const result = await scoresAt(
        [
          profile('2026-03-01T11:10:00Z', 5),
          profile('2026-03-01T11:20:00Z', 0, undefined, { score: null }),
        ],
        [at(t)],
      );
      expect(result).toEqual([null]);
    });

    it('reads columns through the source field mapping', async () => {
      const fixture = await offlineFixture([hourly], strategy);
      await fixture.ingest('profiles', [
        { cust: 'C7', score: 3, tier: 'x', event_ts: t, created_ts: t },
      ]);
      const result = await fixture.trainingSet([{ customer_id: 'C7', event_timestamp: t }], {
        request: { features: ['hourly:tier'] },
      });
      expect(result.records?.[0]?.tier).toBe('x');
    });

    it('applies each view its own TTL, and none for a view without one', async () => {
      const fixture = await offlineFixture([hourly, forever, lastOrder], strategy);
      await fixture.ingest('profiles', [profile('2025-01-01T00:00:00Z', 1)]);
      await fixture.ingest('orders', [
        { customer_id: 'C1', amount: 9.5, event_ts: '2026-02-28T13:00:00Z' },
      ]);
      const result = await fixture.trainingSet([at(t)], {
        request: { features: ['hourly:score', 'last_order:amount'] },
        fullFeatureNames: true,
      });
      expect(result.records?.[0]).toMatchObject({ hourly__score: null, last_order__amount: 9.5 });
      const noTtl = await fixture.trainingSet([at(t)], {
        request: { features: ['forever:score'] },
      });
      expect(noTtl.records?.[0]?.score).toBe(1);
    });

    it('returns duplicate entity rows once each, in file order, with their extra columns', async () => {
      const fixture = await offlineFixture([hourly], strategy);
      await fixture.ingest('profiles', [profile('2026-03-01T11:30:00Z', 4)]);
      const entities = [
        { customer_id: 'C1', event_timestamp: t, label: 'a' },
        { customer_id: 'C2', event_timestamp: t, label: 'b' },
        { customer_id: 'C1', event_timestamp: t, label: 'c' },
      ];
      const result = await fixture.trainingSet(entities, {
        request: { features: ['hourly:score'] },
      });
      expect(result.records?.map((r) => [r.customer_id, r.label, r.score])).toEqual([
        ['C1', 'a', 4],
        ['C2', 'b', null],
        ['C1', 'c', 4],
      ]);
    });

    it('normalizes entity timestamps with offsets to UTC', async () => {
      const rows = [profile('2026-03-01T11:30:00Z', 1), profile('2026-03-01T12:30:00Z', 2)];
      expect(await scoresAt(rows, [at('2026-03-01T14:45:00+02:00')])).toEqual([2]);
      expect(await scoresAt(rows, [at('2026-03-01T07:15:00-05:00')])).toEqual([1]);
    });

    it('names features view__feature on request and refuses colliding names otherwise', async () => {
      const fixture = await offlineFixture([hourly, forever], strategy);
      await fixture.ingest('profiles', [profile('2026-03-01T11:30:00Z', 4)]);
      const full = await fixture.trainingSet([at(t)], {
        request: { features: ['hourly:score', 'forever:score'] },
        fullFeatureNames: true,
      });
      expect(full.columns).toEqual([
        'customer_id',
        'event_timestamp',
        'hourly__score',
        'forever__score',
      ]);
      await expect(
        fixture.trainingSet([at(t)], { request: { features: ['hourly:score', 'forever:score'] } }),
      ).rejects.toThrow('feature name "score" is produced by both hourly.score and forever.score');
    });

    it('widens a feature to the type it declares', async () => {
      const narrow = defineSource({
        name: 'narrow',
        schema: { customer_id: 'string', n: 'int32', event_ts: 'timestamp' },
        timestampField: 'event_ts',
      });
      const wide = defineFeatureView({
        name: 'wide',
        entities: [customer],
        source: narrow,
        features: { n: 'float64' },
      });
      const fixture = await offlineFixture([wide], strategy);
      await fixture.ingest('narrow', [{ customer_id: 'C1', n: 3, event_ts: t }]);
      // Returned rows are JSON, where 3 and 3.0 look alike: the written file keeps the column type.
      const out = path.join(fixture.dataDir, `wide-${strategy}.parquet`);
      await fixture.trainingSet([at(t)], { request: { features: ['wide:n'] }, out });
      const session = await openDuckdb();
      try {
        const described = await queryRows(
          session.connection,
          `DESCRIBE SELECT n FROM read_parquet('${out}')`,
        );
        expect(described.map((c) => [c.column_name, c.column_type])).toEqual([['n', 'DOUBLE']]);
        expect(await queryRows(session.connection, `SELECT n FROM read_parquet('${out}')`)).toEqual(
          [{ n: 3 }],
        );
      } finally {
        session.close();
      }
    });

    it('explains an entity file without the timestamp column', async () => {
      const fixture = await offlineFixture([hourly], strategy);
      await fixture.ingest('profiles', [profile(t, 1)]);
      await expect(
        fixture.trainingSet([{ customer_id: 'C1', ts: t }], {
          request: { features: ['hourly:score'] },
        }),
      ).rejects.toThrow(/has no column "event_timestamp"/);
    });

    it('explains an unparseable entity timestamp with its row number', async () => {
      const fixture = await offlineFixture([hourly], strategy);
      await fixture.ingest('profiles', [profile(t, 1)]);
      await expect(
        fixture.trainingSet([at(t), at('yesterday')], { request: { features: ['hourly:score'] } }),
      ).rejects.toThrow('row 2, column event_timestamp: "yesterday" is not a valid timestamp');
    });
  },
);
